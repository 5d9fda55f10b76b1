//! Property tests: encode → decode is the identity, streaming and
//! incremental paths agree with the one-shot ones, and the decoder survives
//! arbitrary input.
#![allow(clippy::unwrap_used, reason = "tests")]

use bytes::Bytes;
use expo_multipart::{Boundary, Decoder, Error, Limits, Multipart, Part, decode, parse_boundary};
use http::{HeaderName, HeaderValue};
use http_body_util::BodyExt as _;
use proptest::prelude::*;

/// Pieces that make delimiter look-alikes likely.
fn tricky_bytes() -> impl Strategy<Value = Vec<u8>> {
    let piece = prop_oneof![
        Just(b"\r\n".to_vec()),
        Just(b"--".to_vec()),
        Just(b"\r\n--".to_vec()),
        Just(b"-".to_vec()),
        Just(b"\r".to_vec()),
        Just(b"\n".to_vec()),
        Just(b"a".to_vec()),
        Just(b"b".to_vec()),
        proptest::collection::vec(any::<u8>(), 0..8),
    ];
    proptest::collection::vec(piece, 0..24).prop_map(|pieces| pieces.concat())
}

fn body() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..256),
        tricky_bytes()
    ]
}

fn header_name() -> impl Strategy<Value = HeaderName> {
    prop_oneof![
        Just(HeaderName::from_static("content-disposition")),
        Just(HeaderName::from_static("content-type")),
        Just(HeaderName::from_static("expo-signature")),
        "[a-z0-9!#$%&'*+.^_`|~-]{1,20}".prop_map(|s| HeaderName::try_from(s).unwrap()),
    ]
}

fn header_value() -> impl Strategy<Value = HeaderValue> {
    let byte = prop_oneof![0x20_u8..0x7f, Just(b'\t'), 0x80_u8..=0xff];
    proptest::collection::vec(byte, 0..40).prop_map(|v| HeaderValue::from_bytes(&v).unwrap())
}

fn part() -> impl Strategy<Value = Part> {
    (
        proptest::collection::vec((header_name(), header_value()), 0..6),
        body(),
    )
        .prop_map(|(headers, body)| {
            let mut part = Part::new(body);
            for (name, value) in headers {
                part.push_header(name, value);
            }
            part
        })
}

fn parts() -> impl Strategy<Value = Vec<Part>> {
    proptest::collection::vec(part(), 0..6)
}

fn decode_in_chunks(content_type: &str, body: &[u8], cuts: &[usize]) -> Result<Vec<Part>, Error> {
    let boundary = parse_boundary(content_type)?;
    let mut decoder = Decoder::new(&boundary, Limits::default());
    let mut parts = Vec::new();
    let mut start = 0;
    let mut cuts: Vec<usize> = cuts.iter().map(|c| c % (body.len() + 1)).collect();
    cuts.sort_unstable();
    for cut in cuts.into_iter().chain([body.len()]) {
        decoder.push(&body[start..cut]);
        start = cut;
        while let Some(part) = decoder.next_part()? {
            parts.push(part);
        }
    }
    decoder.finish();
    while let Some(part) = decoder.next_part()? {
        parts.push(part);
    }
    Ok(parts)
}

fn collect_body(multipart: Multipart) -> Bytes {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(multipart.into_body().collect())
        .unwrap()
        .to_bytes()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn encode_then_decode_is_identity(parts in parts()) {
        let multipart = Multipart::new(parts.clone());
        let encoded = multipart.encode();
        prop_assert_eq!(encoded.body.len(), multipart.encoded_len());
        if parts.is_empty() {
            prop_assert!(encoded.body.is_empty());
        } else {
            prop_assert!(encoded.body.ends_with(b"--\r\n"));
        }
        let decoded = decode(encoded.content_type.to_str().unwrap(), &encoded.body, &Limits::default()).unwrap();
        prop_assert_eq!(decoded, parts);
    }

    #[test]
    fn streaming_body_equals_contiguous_body(parts in parts()) {
        let multipart = Multipart::new(parts);
        let contiguous = multipart.encode().body;
        prop_assert_eq!(collect_body(multipart), contiguous);
    }

    #[test]
    fn chunked_decoding_equals_whole_decoding(
        parts in parts(),
        cuts in proptest::collection::vec(any::<usize>(), 0..12),
    ) {
        let encoded = Multipart::new(parts.clone()).encode();
        let content_type = encoded.content_type.to_str().unwrap();
        prop_assert_eq!(decode_in_chunks(content_type, &encoded.body, &cuts).unwrap(), parts);
    }

    /// With a short boundary made of body characters, collisions are
    /// common: the encoder must refuse exactly those it cannot write
    /// unambiguously, and everything it accepts must read back.
    #[test]
    fn caller_boundaries_are_checked(
        bodies in proptest::collection::vec(tricky_bytes(), 1..4),
        names in proptest::collection::vec("(--)?[ab:]{0,3}", 0..3),
        boundary in prop_oneof![Just("a"), Just("ab"), Just("a: b"), Just("b")],
    ) {
        let parts: Vec<Part> = bodies
            .into_iter()
            .map(|body| {
                names.iter().fold(Part::new(body), |part, name| {
                    part.clone().with_header(name.trim_end_matches(':'), "b").unwrap_or(part)
                })
            })
            .collect();
        let boundary = Boundary::new(boundary).unwrap();
        match Multipart::with_boundary(parts.clone(), boundary) {
            Ok(multipart) => {
                let encoded = multipart.encode();
                let decoded = decode(encoded.content_type.to_str().unwrap(), &encoded.body, &Limits::default()).unwrap();
                prop_assert_eq!(decoded, parts);
            }
            Err(Error::BoundaryInPart { index }) => prop_assert!(index < parts.len()),
            Err(other) => prop_assert!(false, "unexpected error {other}"),
        }
    }

    #[test]
    fn arbitrary_input_never_panics_and_chunking_is_invisible(
        body in prop_oneof![
            proptest::collection::vec(any::<u8>(), 0..512),
            tricky_bytes().prop_map(|b| [b"--b\r\n".as_slice(), &b].concat()),
        ],
        cuts in proptest::collection::vec(any::<usize>(), 0..8),
    ) {
        let ct = "multipart/mixed; boundary=b";
        let whole = decode(ct, &body, &Limits::default()).map_err(|e| e.to_string());
        let chunked = decode_in_chunks(ct, &body, &cuts).map_err(|e| e.to_string());
        prop_assert_eq!(whole, chunked);
    }

    #[test]
    fn parse_boundary_never_panics(content_type in "\\PC{0,80}") {
        if let Ok(boundary) = parse_boundary(&content_type) {
            prop_assert!(Boundary::new(boundary.as_str()).is_ok());
        }
    }
}
