//! `PUT /admin/blobs/{hash}` under pressure: four concurrent 512 MiB uploads keep the
//! server's memory within the upload memory (the rest are told to retry), and a wrong body
//! is refused without being held in memory.
#![allow(clippy::unwrap_used, reason = "tests may unwrap")]

mod common;

use std::io::Write as _;
use std::path::Path;
use std::process::Command;

use common::Server;

const TOKEN: &str = "0123456789abcdef-test-token";

/// The server process's peak resident memory (`VmHWM`), in MiB.
fn peak_rss_mib(server: &Server) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{}/status", server.child.id())).unwrap();
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
    let kib: u64 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
    kib / 1024
}

/// `curl -T`: streams the file from disk (the test process holds none of it); returns the
/// status and the headers and body.
fn put(server: &Server, file: &Path, hash: &str, content_type: &str) -> (u16, String) {
    let output = Command::new("curl")
        .args(["-sS", "-i", "-H", "expect:", "-T"])
        .arg(file)
        .args(["-H", &format!("authorization: Bearer {TOKEN}")])
        .args(["-H", &format!("content-type: {content_type}")])
        .arg(server.url(&format!("/admin/blobs/{hash}")))
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, text)
}

/// `sha256sum` of a file, in hex.
fn sha256_file(file: &Path) -> String {
    let output = Command::new("sha256sum").arg(file).output().unwrap();
    String::from_utf8(output.stdout).unwrap()[..64].to_owned()
}

#[test]
fn four_concurrent_512_mib_uploads_keep_memory_bounded() {
    const MIB: usize = 1 << 20;
    let work = tempfile::tempdir().unwrap();
    let server = Server::start(
        &work.path().join("data"),
        &["--admin-token", TOKEN, "--sample=false"],
    );
    // 512 MiB of varied bytes, typed as PNG (compressed already: the test measures memory,
    // not brotli's speed).
    let file = work.path().join("huge.png");
    let mut out = std::io::BufWriter::new(std::fs::File::create(&file).unwrap());
    let mut chunk = vec![0_u8; MIB];
    for k in 0..512_usize {
        for (j, byte) in chunk.iter_mut().enumerate() {
            *byte = u8::try_from((j * 31 + k * 17 + j / 251) % 256).unwrap();
        }
        out.write_all(&chunk).unwrap();
    }
    out.into_inner().unwrap().sync_all().unwrap();
    let hash = sha256_file(&file);
    let before = peak_rss_mib(&server);

    let answers: Vec<(u16, String)> = std::thread::scope(|scope| {
        let uploads: Vec<_> = (0..4)
            .map(|_| scope.spawn(|| put(&server, &file, &hash, "image/png")))
            .collect();
        uploads.into_iter().map(|u| u.join().unwrap()).collect()
    });
    let peak = peak_rss_mib(&server);
    let statuses: Vec<u16> = answers.iter().map(|(status, _)| *status).collect();
    eprintln!("statuses {statuses:?}, server peak RSS {before} MiB before, {peak} MiB after");
    for (status, text) in &answers {
        assert!(
            matches!(status, 200 | 201 | 503),
            "a 512 MiB upload is stored, found stored, or told to retry: {text}"
        );
        if *status == 503 {
            assert!(
                text.to_ascii_lowercase().contains("retry-after: "),
                "{text}"
            );
        }
    }
    assert!(
        statuses.contains(&201),
        "one upload was stored: {statuses:?}"
    );
    // The upload memory (1536 MiB) bounds what uploads hold; four bodies buffered at once
    // would be 2048 MiB on their own.
    assert!(
        peak < before + 1_536,
        "peak RSS {peak} MiB (from {before} MiB) exceeds the upload memory"
    );

    // A wrong body (the hash of another): refused after streaming, with nothing stored.
    let small = work.path().join("small.png");
    std::fs::write(&small, &chunk).unwrap();
    let (status, text) = put(&server, &small, &"ab".repeat(32), "image/png");
    assert_eq!(status, 400, "{text}");
    assert!(text.contains("hash_mismatch"), "{text}");
    // The stored blob is there: the target no longer lists it as missing.
    let output = Command::new("curl")
        .args(["-sS", "-H", &format!("authorization: Bearer {TOKEN}")])
        .args(["-H", "content-type: application/json"])
        .args(["--data", &format!(r#"{{"hashes":["{hash}"]}}"#)])
        .arg(server.url("/admin/blobs/missing"))
        .output()
        .unwrap();
    let missing = String::from_utf8_lossy(&output.stdout);
    assert!(missing.contains(r#""missing":[]"#), "{missing}");
}
