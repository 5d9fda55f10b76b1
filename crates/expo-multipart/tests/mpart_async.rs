//! `mpart-async`, an independent `form-data` reader, reads the encoder's
//! output the same way this crate does. Parts stay within what it handles
//! (at least one header, unique names, at most 16 headers).
#![allow(clippy::unwrap_used, reason = "tests")]

use std::convert::Infallible;

use bytes::{Bytes, BytesMut};
use expo_multipart::{Multipart, Part};
use futures_util::{StreamExt as _, stream};
use mpart_async::server::MultipartStream;
use proptest::prelude::*;

/// One part as sorted (header name, value) pairs and body bytes.
type PartView = (Vec<(String, Vec<u8>)>, Vec<u8>);

fn read_with_mpart_async(boundary: &str, body: &[u8], chunk: usize) -> Vec<PartView> {
    let chunks: Vec<Result<Bytes, Infallible>> = body
        .chunks(chunk.max(1))
        .map(|c| Ok(Bytes::copy_from_slice(c)))
        .collect();
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(async {
            let mut stream = MultipartStream::new(boundary.to_owned(), stream::iter(chunks));
            let mut parts = Vec::new();
            while let Some(field) = stream.next().await {
                let mut field = field.unwrap();
                let mut headers: Vec<(String, Vec<u8>)> = field
                    .headers()
                    .iter()
                    .map(|(n, v)| (n.as_str().to_owned(), v.as_bytes().to_vec()))
                    .collect();
                headers.sort();
                let mut body = BytesMut::new();
                while let Some(bytes) = field.next().await {
                    body.extend_from_slice(&bytes.unwrap());
                }
                parts.push((headers, body.to_vec()));
            }
            parts
        })
}

fn part() -> impl Strategy<Value = Part> {
    let name = prop_oneof![Just("manifest"), Just("directive"), Just("extensions")];
    let body = prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..300),
        "[\r\n{}\":a-z-]{0,200}".prop_map(String::into_bytes),
    ];
    (name, body, proptest::option::of("[A-Za-z0-9+/=\", ]{1,60}")).prop_map(|(name, body, sig)| {
        let part = Part::form_data(name, "application/json", body);
        match sig {
            Some(sig) => part.with_header("expo-signature", sig).unwrap(),
            None => part,
        }
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn mpart_async_reads_encoder_output(
        parts in proptest::collection::vec(part(), 1..5),
        chunk in 1_usize..64,
    ) {
        let multipart = Multipart::new(parts.clone());
        let encoded = multipart.encode();
        let read = read_with_mpart_async(multipart.boundary().as_str(), &encoded.body, chunk);
        let expected: Vec<_> = parts
            .iter()
            .map(|p| {
                let mut headers: Vec<(String, Vec<u8>)> = p
                    .headers()
                    .iter()
                    .map(|(n, v)| (n.as_str().to_owned(), v.as_bytes().to_vec()))
                    .collect();
                headers.sort();
                (headers, p.body().to_vec())
            })
            .collect();
        prop_assert_eq!(read, expected);
    }
}
