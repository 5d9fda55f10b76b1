//! The probes: which requests are sent, in which order, and what each answer is held to.

use std::collections::{BTreeMap, BTreeSet};

use bytes::Bytes;
use expo_manifest::Platform;
use http::{Request, Response};

use super::answer::{self, Answer, AssetRef, Kind, Structure};
use super::assets::{decode, fresh_manifest, hash, long_lived, same_hash};
use super::report::{Outcome, Report};
use super::server_headers::{self, Verdict};
use super::signature::parse_header;
use super::{MAX_REQUESTS_CEILING, Options, ServedUpdate, Transport, catalog};

/// The accept header of the reference clients.
const CLIENT_ACCEPT: &str = "multipart/mixed,application/expo+json,application/json";
/// A runtime version no server publishes for.
const UNKNOWN_RUNTIME: &str = "0.0.0-expo-conformance-no-such-runtime";
/// Bytes asked for by the range probe.
const RANGE_LEN: usize = 100;

/// Why a probe got no answer.
enum Failure {
    /// The request budget is spent.
    Budget,
    /// The transport failed.
    Transport(String),
}

/// A manifest request, starting from what the client sends.
#[derive(Debug, Clone)]
struct Probe {
    platform: Option<String>,
    runtime: Option<String>,
    protocol: Option<String>,
    accept: String,
    sign: bool,
    current: Option<String>,
}

pub(crate) struct Session<'a, T> {
    transport: &'a T,
    options: &'a Options,
    report: Report,
    max_requests: usize,
    /// Whether a multipart answer with parts (and one with a part signature) was seen.
    framing_seen: bool,
    part_signature_seen: bool,
    directive_seen: bool,
    /// Asset URLs already fetched.
    fetched: BTreeSet<String>,
    /// Hash of the identity bytes each asset URL answered.
    served: BTreeMap<String, String>,
}

impl<'a, T: Transport> Session<'a, T> {
    pub(crate) fn new(transport: &'a T, options: &'a Options) -> Self {
        let mut report = Report::default();
        report.state.url.clone_from(&options.url);
        report
            .state
            .runtime_version
            .clone_from(&options.runtime_version);
        Session {
            transport,
            options,
            report,
            max_requests: options.max_requests.min(MAX_REQUESTS_CEILING),
            framing_seen: false,
            part_signature_seen: false,
            directive_seen: false,
            fetched: BTreeSet::new(),
            served: BTreeMap::new(),
        }
    }

    pub(crate) async fn run(mut self) -> Report {
        let platforms = self.options.platforms.clone();
        for (index, &platform) in platforms.iter().enumerate() {
            let Some(baseline) = self.baseline(platform).await else {
                continue;
            };
            let first = index == 0;
            if first {
                self.negotiation(platform, &baseline).await;
                self.request_headers(platform, &baseline).await;
                self.unknown_runtime(platform).await;
                self.current_update(platform, &baseline).await;
            }
            if let Kind::Update { id, assets, .. } = &baseline.kind {
                self.report.state.updates.push(ServedUpdate {
                    platform: platform.as_str().to_owned(),
                    id: id.clone(),
                    assets: assets.clone(),
                });
                let launch = self.assets(platform, assets).await;
                if first && let Some((asset, bytes)) = launch {
                    self.range(platform, &asset, bytes).await;
                }
            }
        }
        self.stability().await;
        self.close();
        for update in &mut self.report.state.updates {
            for asset in &mut update.assets {
                asset
                    .served
                    .clone_from(&self.served.get(&asset.url).cloned());
            }
        }
        self.report
    }

    // -- plumbing -------------------------------------------------------------------------

    fn record(&mut self, id: &str, outcome: Outcome, subject: &str, message: impl Into<String>) {
        if catalog::find(id).is_some_and(|c| self.options.runs(c.group)) {
            self.report.record(id, outcome, subject, message);
        }
    }

    fn pass(&mut self, id: &str, subject: &str, message: impl Into<String>) {
        self.record(id, Outcome::Pass, subject, message);
    }

    fn fail(&mut self, id: &str, subject: &str, message: impl Into<String>) {
        self.record(id, Outcome::Fail, subject, message);
    }

    fn skip(&mut self, id: &str, subject: &str, message: impl Into<String>) {
        self.record(id, Outcome::Skip, subject, message);
    }

    fn judge(&mut self, id: &str, subject: &str, ok: bool, message: impl Into<String>) {
        let outcome = if ok { Outcome::Pass } else { Outcome::Fail };
        self.record(id, outcome, subject, message);
    }

    fn runs_any(&self, ids: &[&str]) -> bool {
        ids.iter()
            .filter_map(|id| catalog::find(id))
            .any(|c| self.options.runs(c.group))
    }

    fn unanswered(&mut self, ids: &[&str], subject: &str, failure: &Failure) {
        for id in ids {
            match failure {
                Failure::Budget => self.skip(
                    id,
                    subject,
                    format!("the request budget ({}) is spent", self.max_requests),
                ),
                Failure::Transport(message) => self.fail(id, subject, message.clone()),
            }
        }
    }

    async fn send(&mut self, request: Request<()>) -> Result<Response<Bytes>, Failure> {
        if self.report.requests >= self.max_requests {
            return Err(Failure::Budget);
        }
        self.report.requests += 1;
        let url = request.uri().to_string();
        self.transport
            .send(request)
            .await
            .map_err(|e| Failure::Transport(format!("GET {url}: {e}")))
    }

    fn probe(&self, platform: Platform) -> Probe {
        Probe {
            platform: Some(platform.as_str().to_owned()),
            runtime: Some(self.options.runtime_version.clone()),
            protocol: Some("1".to_owned()),
            accept: CLIENT_ACCEPT.to_owned(),
            sign: self.options.certificate.is_some(),
            current: None,
        }
    }

    fn manifest_request(&self, probe: &Probe) -> Result<Request<()>, Failure> {
        let mut builder = Request::get(self.options.url.as_str()).header("accept", &probe.accept);
        if let Some(protocol) = &probe.protocol {
            builder = builder.header("expo-protocol-version", protocol);
        }
        if let Some(platform) = &probe.platform {
            builder = builder.header("expo-platform", platform);
        }
        if let Some(runtime) = &probe.runtime {
            builder = builder.header("expo-runtime-version", runtime);
        }
        if let Some(channel) = &self.options.channel {
            builder = builder.header("expo-channel-name", channel);
        }
        if probe.sign
            && let Some(certificate) = &self.options.certificate
        {
            builder = builder.header(
                "expo-expect-signature",
                format!(
                    "sig, keyid=\"{}\", alg=\"rsa-v1_5-sha256\"",
                    certificate.keyid()
                ),
            );
        }
        if let Some(current) = &probe.current {
            builder = builder.header("expo-current-update-id", current);
        }
        builder
            .body(())
            .map_err(|e| Failure::Transport(format!("cannot build the request: {e}")))
    }

    /// Sends a manifest probe; framing and part-header checks run on every multipart answer.
    async fn ask(&mut self, probe: &Probe, subject: &str) -> Result<Answer, Failure> {
        let request = self.manifest_request(probe)?;
        let response = self.send(request).await?;
        let runtime = probe.runtime.as_deref().unwrap_or("");
        let answer = answer::read(&response, runtime);
        self.framing(&answer, subject);
        Ok(answer)
    }

    // -- the request an app sends ---------------------------------------------------------

    async fn baseline(&mut self, platform: Platform) -> Option<Answer> {
        let subject = platform.as_str();
        let probe = self.probe(platform);
        let answer = match self.ask(&probe, subject).await {
            Ok(answer) => answer,
            Err(failure) => {
                self.unanswered(&["manifest-answer"], subject, &failure);
                return None;
            }
        };
        let mut problems = Vec::new();
        if !matches!(answer.status, 200 | 204) {
            let excerpt: String = String::from_utf8_lossy(&answer.raw)
                .chars()
                .take(200)
                .collect();
            problems.push(format!("status {}: {excerpt}", answer.status));
        }
        match answer.header("expo-protocol-version") {
            Some("1") => {}
            other => problems.push(format!("expo-protocol-version is {other:?}, must be \"1\"")),
        }
        match answer.header("expo-sfv-version") {
            Some("0") => {}
            other => problems.push(format!("expo-sfv-version is {other:?}, must be \"0\"")),
        }
        self.judge(
            "manifest-answer",
            subject,
            problems.is_empty(),
            if problems.is_empty() {
                answer.describe()
            } else {
                problems.join("; ")
            },
        );
        match &answer.kind {
            Kind::Update { problems, .. } => {
                let ok = problems.is_empty();
                self.judge("manifest-body", subject, ok, problems.join("; "));
            }
            Kind::Directive { kind, .. } => {
                self.pass("manifest-body", subject, format!("a {kind} directive"));
            }
            Kind::Unusable(why) if answer.status == 200 => {
                self.fail("manifest-body", subject, why.clone());
            }
            _ => self.skip(
                "manifest-body",
                subject,
                format!(
                    "no update is served for runtime version {:?}: publish one so the manifest, signature and asset checks can run",
                    self.options.runtime_version
                ),
            ),
        }
        self.signatures(&answer, subject);
        self.server_headers(&answer, subject);
        match answer.header("cache-control") {
            Some(value) => {
                let ok = fresh_manifest(value);
                self.judge(
                    "cache-manifest",
                    subject,
                    ok,
                    format!("cache-control: {value}"),
                );
            }
            None => self.fail("cache-manifest", subject, "no cache-control"),
        }
        Some(answer)
    }

    /// Manifest filters, server-defined headers and asset request headers, when sent.
    fn server_headers(&mut self, answer: &Answer, subject: &str) {
        for (id, verdict) in [
            ("manifest-filters", server_headers::manifest_filters(answer)),
            (
                "server-defined-headers",
                server_headers::server_defined_headers(answer),
            ),
            (
                "asset-request-headers",
                server_headers::asset_request_headers(answer),
            ),
        ] {
            match verdict {
                Verdict::NotSent(why) => self.skip(id, subject, why),
                Verdict::Pass(message) => self.pass(id, subject, message),
                Verdict::Fail(message) => self.fail(id, subject, message),
            }
        }
    }

    /// Multipart framing and part headers, byte for byte.
    fn framing(&mut self, answer: &Answer, subject: &str) {
        let Some(multipart) = &answer.multipart else {
            return;
        };
        self.framing_seen = true;
        let boundary = &multipart.boundary;
        let head: String = String::from_utf8_lossy(&answer.raw[..answer.raw.len().min(40)]).into();
        self.judge(
            "multipart-opening",
            subject,
            multipart.clean_opening,
            format!("the body starts {head:?}, expected \"--{boundary}\\r\\n\""),
        );
        let tail_start = answer.raw.len().saturating_sub(40);
        let tail: String = String::from_utf8_lossy(&answer.raw[tail_start..]).into();
        self.judge(
            "multipart-closing",
            subject,
            multipart.clean_closing,
            format!("the body ends {tail:?}, expected \"\\r\\n--{boundary}--\\r\\n\""),
        );
        let mut problems = Vec::new();
        for (index, part) in multipart.parts.iter().enumerate() {
            let name = part.name().unwrap_or_else(|| format!("#{index}"));
            let types = part.values("content-type").len();
            if types != 1 {
                problems.push(format!("part {name:?} has {types} content-type headers"));
            }
            let dispositions = part.values("content-disposition").len();
            if dispositions != 1 || part.name().is_none() {
                problems.push(format!(
                    "part {name:?} has {dispositions} content-disposition headers (one with a name needed)"
                ));
            }
            if let Some((spelling, _)) = part
                .headers
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case("expo-signature"))
            {
                self.part_signature_seen = true;
                self.judge(
                    "signature-part-header-case",
                    subject,
                    spelling == "expo-signature",
                    format!("part {name:?} spells it {spelling:?}"),
                );
            }
        }
        let ok = problems.is_empty();
        self.judge(
            "multipart-part-headers",
            subject,
            ok,
            if ok {
                format!("{} part(s)", multipart.parts.len())
            } else {
                problems.join("; ")
            },
        );
    }

    /// Signature of a manifest or directive asked for with `expo-expect-signature`.
    fn signatures(&mut self, answer: &Answer, subject: &str) {
        let Some(certificate) = &self.options.certificate else {
            return;
        };
        let (id, signed) = match &answer.kind {
            Kind::Update { signed, .. } => ("signature-manifest", signed),
            Kind::Directive { signed, .. } => {
                self.directive_seen = true;
                ("signature-directive", signed)
            }
            _ => return,
        };
        let Some((_, value)) = &signed.signature else {
            self.fail(
                id,
                subject,
                "not signed though the request expects a signature",
            );
            return;
        };
        let header = match parse_header(value) {
            Ok(header) => header,
            Err(e) => {
                self.fail(id, subject, format!("expo-signature {value:?}: {e}"));
                return;
            }
        };
        let keyid = header.keyid.as_deref().unwrap_or("main");
        self.judge(
            "signature-keyid",
            subject,
            keyid == certificate.keyid(),
            format!(
                "signed by keyid {keyid:?}, asked for {:?}",
                certificate.keyid()
            ),
        );
        if let Some(alg) = header.alg.as_deref()
            && alg != "rsa-v1_5-sha256"
        {
            self.fail(id, subject, format!("alg {alg:?} is not rsa-v1_5-sha256"));
            return;
        }
        let ok = certificate.verifies(&signed.body, &header.sig);
        self.judge(
            id,
            subject,
            ok,
            if ok {
                "verifies with the certificate"
            } else {
                "does not verify with the certificate"
            },
        );
    }

    // -- accept negotiation ---------------------------------------------------------------

    async fn negotiation(&mut self, platform: Platform, baseline: &Answer) {
        const IDS: [&str; 4] = [
            "accept-json",
            "accept-multipart",
            "accept-qvalues",
            "accept-406",
        ];
        if !self.runs_any(&IDS) {
            return;
        }
        let subject = platform.as_str();
        if !matches!(baseline.kind, Kind::Update { .. }) {
            for id in IDS {
                self.skip(id, subject, "needs an update to negotiate on");
            }
            return;
        }
        let mut probe = self.probe(platform);
        probe.sign = false;
        let mut supports = [false, false];
        for (index, (id, accept, wanted)) in [
            ("accept-json", "application/expo+json", Structure::Json),
            ("accept-multipart", "multipart/mixed", Structure::Multipart),
        ]
        .into_iter()
        .enumerate()
        {
            accept.clone_into(&mut probe.accept);
            let subject = format!("{subject} accept: {accept}");
            match self.ask(&probe, &subject).await {
                Ok(answer) if answer.status == 406 => self.pass(id, &subject, "406"),
                Ok(answer) if answer.status == 200 && answer.structure == wanted => {
                    supports[index] = true;
                    self.pass(id, &subject, answer.describe());
                }
                Ok(answer) => {
                    let got = answer.header("content-type").unwrap_or("").to_owned();
                    self.fail(
                        id,
                        &subject,
                        format!("answered {} content-type {got:?}", answer.status),
                    );
                }
                Err(failure) => self.unanswered(&[id], &subject, &failure),
            }
        }
        if supports == [true, true] {
            let mut problems = Vec::new();
            let mut answered = true;
            for (accept, wanted) in [
                (
                    "multipart/mixed;q=0.5, application/expo+json",
                    Structure::Json,
                ),
                (
                    "application/expo+json;q=0.5, application/json;q=0.5, multipart/mixed",
                    Structure::Multipart,
                ),
            ] {
                accept.clone_into(&mut probe.accept);
                match self.ask(&probe, subject).await {
                    Ok(answer) if answer.structure == wanted => {}
                    Ok(answer) => problems.push(format!(
                        "accept: {accept} was answered {} content-type {:?}",
                        answer.status,
                        answer.header("content-type").unwrap_or("")
                    )),
                    Err(failure) => {
                        self.unanswered(&["accept-qvalues"], subject, &failure);
                        answered = false;
                        break;
                    }
                }
            }
            if answered {
                let ok = problems.is_empty();
                self.judge("accept-qvalues", subject, ok, problems.join("; "));
            }
        } else {
            self.skip(
                "accept-qvalues",
                subject,
                "the server offers one structure only: nothing to choose",
            );
        }
        "text/html".clone_into(&mut probe.accept);
        match self.ask(&probe, subject).await {
            Ok(answer) => self.judge(
                "accept-406",
                subject,
                answer.status == 406,
                format!("accept: text/html answered {}", answer.describe()),
            ),
            Err(failure) => self.unanswered(&["accept-406"], subject, &failure),
        }
    }

    // -- malformed protocol headers -------------------------------------------------------

    async fn request_headers(&mut self, platform: Platform, baseline: &Answer) {
        let subject = platform.as_str();
        let base = {
            let mut probe = self.probe(platform);
            probe.sign = false;
            probe
        };
        let runtime = self.options.runtime_version.clone();
        let refused: &[u16] = &[400, 404];
        let cases: [(&str, Probe, &[u16]); 4] = [
            (
                "protocol-version-invalid",
                Probe {
                    protocol: Some("one".to_owned()),
                    ..base.clone()
                },
                &[400, 406],
            ),
            (
                "platform-missing",
                Probe {
                    platform: None,
                    ..base.clone()
                },
                refused,
            ),
            (
                "platform-invalid",
                Probe {
                    platform: Some("windows".to_owned()),
                    ..base.clone()
                },
                refused,
            ),
            (
                "runtime-version-missing",
                Probe {
                    runtime: None,
                    ..base.clone()
                },
                &[400, 404, 406, 422],
            ),
        ];
        for (id, probe, wanted) in cases {
            if !self.runs_any(&[id]) {
                continue;
            }
            match self.ask(&probe, subject).await {
                Ok(answer) => self.judge(
                    id,
                    subject,
                    wanted.contains(&answer.status),
                    format!("answered {}", answer.describe()),
                ),
                Err(failure) => self.unanswered(&[id], subject, &failure),
            }
        }
        if !self.runs_any(&["runtime-version-path"]) {
            return;
        }
        let Some(served) = baseline.update_id() else {
            self.skip(
                "runtime-version-path",
                subject,
                "needs an update for the runtime version",
            );
            return;
        };
        let probe = Probe {
            runtime: Some(format!("{runtime}/../{runtime}")),
            ..base
        };
        match self.ask(&probe, subject).await {
            Ok(answer) => self.judge(
                "runtime-version-path",
                subject,
                answer.update_id() != Some(served),
                format!(
                    "expo-runtime-version: {runtime}/../{runtime} answered {}",
                    answer.describe()
                ),
            ),
            Err(failure) => self.unanswered(&["runtime-version-path"], subject, &failure),
        }
    }

    // -- nothing new ----------------------------------------------------------------------

    async fn unknown_runtime(&mut self, platform: Platform) {
        if !self.runs_any(&["no-update-unknown-runtime"]) {
            return;
        }
        let subject = platform.as_str();
        let mut probe = self.probe(platform);
        probe.runtime = Some(UNKNOWN_RUNTIME.to_owned());
        match self.ask(&probe, subject).await {
            Ok(answer) => self.judge(
                "no-update-unknown-runtime",
                subject,
                answer.is_no_update(),
                format!(
                    "expo-runtime-version: {UNKNOWN_RUNTIME} answered {}",
                    answer.describe()
                ),
            ),
            Err(failure) => self.unanswered(&["no-update-unknown-runtime"], subject, &failure),
        }
    }

    async fn current_update(&mut self, platform: Platform, baseline: &Answer) {
        const IDS: [&str; 2] = ["no-update-current", "current-update-id-case"];
        if !self.runs_any(&IDS) && !self.runs_any(&["signature-directive"]) {
            return;
        }
        let subject = platform.as_str();
        if !self.options.allow_mutations {
            for id in IDS {
                self.skip(
                    id,
                    subject,
                    "sends expo-current-update-id, which servers may record as a launch: run with mutations allowed",
                );
            }
            return;
        }
        let Some(served) = baseline.update_id() else {
            for id in IDS {
                self.skip(id, subject, "needs an update for the runtime version");
            }
            return;
        };
        let served = served.to_owned();
        let mut probe = self.probe(platform);
        probe.current = Some(served.to_ascii_lowercase());
        let lower = match self.ask(&probe, subject).await {
            Ok(answer) => answer,
            Err(failure) => {
                self.unanswered(&IDS, subject, &failure);
                return;
            }
        };
        self.signatures(&lower, &format!("{subject} noUpdateAvailable"));
        self.judge(
            "no-update-current",
            subject,
            lower.is_no_update(),
            format!(
                "expo-current-update-id: {} (the update served) answered {}",
                served.to_ascii_lowercase(),
                lower.describe()
            ),
        );
        if !lower.is_no_update() {
            self.skip(
                "current-update-id-case",
                subject,
                "the lower-case id is not recognised either",
            );
            return;
        }
        probe.current = Some(served.to_ascii_uppercase());
        match self.ask(&probe, subject).await {
            Ok(answer) => self.judge(
                "current-update-id-case",
                subject,
                answer.is_no_update(),
                format!(
                    "expo-current-update-id: {} answered {}, the lower-case id {}",
                    served.to_ascii_uppercase(),
                    answer.describe(),
                    lower.describe()
                ),
            ),
            Err(failure) => self.unanswered(&["current-update-id-case"], subject, &failure),
        }
    }

    // -- assets ---------------------------------------------------------------------------

    fn asset_request(asset: &AssetRef, coding: &str) -> Result<Request<()>, Failure> {
        let mut builder = Request::get(asset.url.as_str())
            .header("accept", format!("{}, */*", asset.content_type))
            .header("accept-encoding", coding);
        for (name, value) in &asset.request_headers {
            builder = builder.header(name.as_str(), value.as_str());
        }
        builder
            .body(())
            .map_err(|e| Failure::Transport(format!("cannot build the request: {e}")))
    }

    /// Every asset once per encoding; returns the launch asset and its identity bytes.
    async fn assets(
        &mut self,
        platform: Platform,
        assets: &[AssetRef],
    ) -> Option<(AssetRef, Bytes)> {
        const IDS: [&str; 7] = [
            "asset-identity",
            "asset-content-type",
            "cache-assets",
            "asset-gzip",
            "asset-br",
            "asset-gzip-offered",
            "asset-br-offered",
        ];
        let mut launch = None;
        if !self.runs_any(&IDS) && !self.runs_any(&["range-asset"]) {
            return None;
        }
        for asset in assets {
            if !self.fetched.insert(asset.url.clone()) {
                continue;
            }
            let subject = format!("{platform} asset {:?}", asset.key);
            let identity = self.identity(asset, &subject).await;
            if asset.launch {
                launch = identity.map(|bytes| (asset.clone(), bytes));
            }
            for (id, offered, coding) in [
                ("asset-gzip", "asset-gzip-offered", "gzip"),
                ("asset-br", "asset-br-offered", "br"),
            ] {
                self.encoded(asset, &subject, id, offered, coding).await;
            }
        }
        launch
    }

    async fn identity(&mut self, asset: &AssetRef, subject: &str) -> Option<Bytes> {
        let response = match Self::asset_request(asset, "identity") {
            Ok(request) => self.send(request).await,
            Err(failure) => Err(failure),
        };
        let response = match response {
            Ok(response) => response,
            Err(failure) => {
                self.unanswered(
                    &["asset-identity", "asset-content-type", "cache-assets"],
                    subject,
                    &failure,
                );
                return None;
            }
        };
        if response.status() != 200 {
            self.fail(
                "asset-identity",
                subject,
                format!("GET {}: status {}", asset.url, response.status()),
            );
            return None;
        }
        let text = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let coding = text("content-encoding").unwrap_or_else(|| "identity".to_owned());
        let got = hash(response.body());
        self.served.insert(asset.url.clone(), got.clone());
        let ok = coding.eq_ignore_ascii_case("identity") && same_hash(&got, &asset.hash);
        self.judge(
            "asset-identity",
            subject,
            ok,
            format!(
                "content-encoding {coding}, {} bytes hashing to {got}, the manifest says {}",
                response.body().len(),
                asset.hash
            ),
        );
        match text("content-type") {
            Some(ct) => self.pass("asset-content-type", subject, ct),
            None => self.fail("asset-content-type", subject, "no content-type"),
        }
        match text("cache-control") {
            Some(cc) => {
                let ok = long_lived(&cc);
                self.judge("cache-assets", subject, ok, format!("cache-control: {cc}"));
            }
            None => self.fail("cache-assets", subject, "no cache-control"),
        }
        ok.then(|| response.body().clone())
    }

    async fn encoded(
        &mut self,
        asset: &AssetRef,
        subject: &str,
        id: &str,
        offered: &str,
        coding: &str,
    ) {
        let response = match Self::asset_request(asset, coding) {
            Ok(request) => self.send(request).await,
            Err(failure) => Err(failure),
        };
        let response = match response {
            Ok(response) => response,
            Err(failure) => {
                self.unanswered(&[id], subject, &failure);
                return;
            }
        };
        let subject = format!("{subject} accept-encoding: {coding}");
        if response.status() != 200 {
            self.fail(id, &subject, format!("status {}", response.status()));
            return;
        }
        let used = response
            .headers()
            .get("content-encoding")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("identity")
            .trim()
            .to_ascii_lowercase();
        if used != coding && used != "identity" {
            self.fail(
                id,
                &subject,
                format!("content-encoding {used:?} was not accepted"),
            );
            return;
        }
        match decode(&used, response.body()) {
            Ok(bytes) => {
                let got = hash(&bytes);
                self.judge(
                    id,
                    &subject,
                    same_hash(&got, &asset.hash),
                    format!("{used}: decodes to {got}, the manifest says {}", asset.hash),
                );
            }
            Err(e) => self.fail(id, &subject, e),
        }
        if asset.launch {
            self.judge(
                offered,
                &subject,
                used == coding,
                format!("the launch asset came as {used}"),
            );
        }
    }

    async fn range(&mut self, platform: Platform, asset: &AssetRef, full: Bytes) {
        // An empty asset has no byte range to ask for.
        if !self.runs_any(&["range-asset"]) || full.is_empty() {
            return;
        }
        let subject = format!(
            "{platform} asset {:?} range: bytes=0-{}",
            asset.key,
            RANGE_LEN - 1
        );
        let request = Self::asset_request(asset, "identity").and_then(|mut request| {
            request.headers_mut().insert(
                http::header::RANGE,
                http::HeaderValue::from_str(&format!("bytes=0-{}", RANGE_LEN - 1))
                    .map_err(|e| Failure::Transport(e.to_string()))?,
            );
            Ok(request)
        });
        let response = match request {
            Ok(request) => self.send(request).await,
            Err(failure) => Err(failure),
        };
        let response = match response {
            Ok(response) => response,
            Err(failure) => {
                self.unanswered(&["range-asset"], &subject, &failure);
                return;
            }
        };
        let expected = &full[..full.len().min(RANGE_LEN)];
        match response.status().as_u16() {
            206 => {
                let range = response
                    .headers()
                    .get(http::header::CONTENT_RANGE)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("")
                    .to_owned();
                let wanted = format!("bytes 0-{}/{}", expected.len() - 1, full.len());
                let ok = range == wanted && response.body().as_ref() == expected;
                self.judge(
                    "range-asset",
                    &subject,
                    ok,
                    format!(
                        "206 with content-range {range:?} (expected {wanted:?}) and {} byte(s){}",
                        response.body().len(),
                        if response.body().as_ref() == expected {
                            ""
                        } else {
                            " that are not the asset's first bytes"
                        }
                    ),
                );
            }
            200 => {
                let ok = response.body() == &full;
                self.judge(
                    "range-asset",
                    &subject,
                    ok,
                    "200: the range is ignored and the whole asset sent",
                );
            }
            status => self.fail("range-asset", &subject, format!("status {status}")),
        }
    }

    // -- across a publish -----------------------------------------------------------------

    async fn stability(&mut self) {
        if !self.runs_any(&["asset-urls-stable"]) {
            return;
        }
        let Some(previous) = self.options.previous.clone() else {
            self.skip(
                "asset-urls-stable",
                "previous update",
                "needs the state saved by a run before a publish (two phases)",
            );
            return;
        };
        let now = &self.report.state.updates;
        let changed = previous.updates.iter().any(|before| {
            now.iter()
                .any(|after| after.platform == before.platform && after.id != before.id)
        });
        if !changed {
            self.skip(
                "asset-urls-stable",
                "previous update",
                "the same update is still served: publish a new one between the two runs",
            );
            return;
        }
        let mut seen = BTreeSet::new();
        for update in &previous.updates {
            for asset in &update.assets {
                if !seen.insert(asset.url.clone()) {
                    continue;
                }
                let subject = format!(
                    "{} update {} asset {:?}",
                    update.platform, update.id, asset.key
                );
                let response = match Self::asset_request(asset, "identity") {
                    Ok(request) => self.send(request).await,
                    Err(failure) => Err(failure),
                };
                match response {
                    Ok(response) => {
                        // Compared with what the URL answered before (the manifest's hash
                        // when that was not fetched): changed or removed is the failure.
                        let before = asset.served.as_deref().unwrap_or(&asset.hash);
                        let got = hash(response.body());
                        let ok = response.status() == 200 && same_hash(&got, before);
                        self.judge(
                            "asset-urls-stable",
                            &subject,
                            ok,
                            format!(
                                "GET {}: status {}, bytes hashing to {got}, before {before}",
                                asset.url,
                                response.status(),
                            ),
                        );
                    }
                    Err(failure) => self.unanswered(&["asset-urls-stable"], &subject, &failure),
                }
            }
        }
    }

    /// Checks that never got material are reported as skipped rather than left out.
    fn close(&mut self) {
        if !self.framing_seen {
            for id in [
                "multipart-opening",
                "multipart-closing",
                "multipart-part-headers",
            ] {
                self.skip(id, "all", "no multipart answer with parts was seen");
            }
        }
        if !self.part_signature_seen {
            self.skip(
                "signature-part-header-case",
                "all",
                "no signed multipart part was seen",
            );
        }
        let signed = self.options.certificate.is_some();
        let seen: BTreeSet<&str> = self.report.findings.iter().map(|f| f.check.id).collect();
        for id in ["signature-manifest", "signature-keyid"] {
            if !seen.contains(id) {
                self.skip(
                    id,
                    "all",
                    if signed {
                        "no signed manifest was answered"
                    } else {
                        "no certificate given: signatures are neither asked for nor verified"
                    },
                );
            }
        }
        if !self.directive_seen {
            self.skip(
                "signature-directive",
                "all",
                if signed {
                    "no directive was answered (the noUpdateAvailable probe runs with mutations allowed)"
                } else {
                    "no certificate given"
                },
            );
        }
    }
}
