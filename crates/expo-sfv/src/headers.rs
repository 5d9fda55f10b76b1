//! The typed Expo Updates headers built on [`Dictionary`].

use std::{fmt, str::FromStr};

use crate::{Dictionary, Error, Item};

const EXPECT_SIGNATURE: &str = "expo-expect-signature";
const SIGNATURE: &str = "expo-signature";

/// `expo-expect-signature`: the client verifies signatures and says with
/// which key and algorithm, e.g. `sig, keyid="main", alg="rsa-v1_5-sha256"`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExpectSignature {
    /// `sig`: the client wants the signature in the `sig` member.
    pub sig: bool,
    /// `keyid`: the key the client verifies with.
    pub keyid: Option<String>,
    /// `alg`: the algorithm the client verifies with.
    pub alg: Option<String>,
}

impl ExpectSignature {
    /// Parses the header value; unknown members are ignored.
    pub fn parse(input: &str) -> Result<Self, Error> {
        let dict = Dictionary::parse(input)?;
        Ok(ExpectSignature {
            sig: optional(&dict, EXPECT_SIGNATURE, "sig", Item::as_bool, "a boolean")?
                .unwrap_or(false),
            keyid: optional_string(&dict, EXPECT_SIGNATURE, "keyid")?,
            alg: optional_string(&dict, EXPECT_SIGNATURE, "alg")?,
        })
    }
}

impl FromStr for ExpectSignature {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        ExpectSignature::parse(s)
    }
}

/// `expo-signature`: `sig="<base64>", keyid="main", alg="rsa-v1_5-sha256"`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signature {
    /// The signature in standard base64 (an SFV string, as clients require).
    pub sig: String,
    /// The key that signed; a client reads a missing keyid as `root`.
    pub keyid: Option<String>,
    /// The algorithm, `rsa-v1_5-sha256`.
    pub alg: Option<String>,
}

impl Signature {
    /// Parses the header value; `sig` is required, unknown members ignored.
    pub fn parse(input: &str) -> Result<Self, Error> {
        let dict = Dictionary::parse(input)?;
        Ok(Signature {
            sig: optional_string(&dict, SIGNATURE, "sig")?.ok_or(Error::Missing {
                header: SIGNATURE,
                key: "sig",
            })?,
            keyid: optional_string(&dict, SIGNATURE, "keyid")?,
            alg: optional_string(&dict, SIGNATURE, "alg")?,
        })
    }

    /// The header value, members in the order `sig`, `keyid`, `alg`, each an
    /// SFV string, absent members left out.
    ///
    /// Fails only when a member holds characters outside printable ASCII.
    pub fn try_to_header_value(&self) -> Result<String, Error> {
        let mut dict = Dictionary::new();
        dict.insert("sig", self.sig.as_str())?;
        if let Some(keyid) = &self.keyid {
            dict.insert("keyid", keyid.as_str())?;
        }
        if let Some(alg) = &self.alg {
            dict.insert("alg", alg.as_str())?;
        }
        Ok(dict.to_header_value())
    }

    /// Like [`try_to_header_value`](Self::try_to_header_value), with members
    /// that cannot be written left out.
    pub fn to_header_value(&self) -> String {
        self.try_to_header_value().unwrap_or_else(|_| {
            let mut dict = Dictionary::new();
            let _ = dict.insert("sig", self.sig.as_str());
            dict.to_header_value()
        })
    }
}

impl fmt::Display for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_header_value())
    }
}

impl FromStr for Signature {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        Signature::parse(s)
    }
}

macro_rules! dictionary_header {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Default, PartialEq)]
        pub struct $name(Dictionary);

        impl $name {
            /// Wraps a dictionary.
            pub fn new(dictionary: Dictionary) -> Self {
                $name(dictionary)
            }

            /// Parses the header value.
            pub fn parse(input: &str) -> Result<Self, Error> {
                Dictionary::parse(input).map($name)
            }

            /// The members.
            pub fn dictionary(&self) -> &Dictionary {
                &self.0
            }

            /// The canonical header value.
            pub fn to_header_value(&self) -> String {
                self.0.to_header_value()
            }
        }

        impl From<Dictionary> for $name {
            fn from(dictionary: Dictionary) -> Self {
                $name(dictionary)
            }
        }

        impl FromStr for $name {
            type Err = Error;

            fn from_str(s: &str) -> Result<Self, Error> {
                $name::parse(s)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.to_header_value())
            }
        }
    };
}

dictionary_header! {
    /// `expo-manifest-filters`: the client keeps only updates whose manifest
    /// `metadata` has, for every key here, no value or an equal value.
    ManifestFilters
}

dictionary_header! {
    /// `expo-server-defined-headers`: headers the client stores and sends back
    /// with every later manifest request.
    ServerDefinedHeaders
}

fn optional<'a, T>(
    dict: &'a Dictionary,
    header: &'static str,
    key: &'static str,
    read: impl Fn(&'a Item) -> Option<T>,
    expected: &'static str,
) -> Result<Option<T>, Error> {
    dict.get(key)
        .map(|item| {
            read(item).ok_or(Error::WrongType {
                header,
                key,
                expected,
            })
        })
        .transpose()
}

fn optional_string(
    dict: &Dictionary,
    header: &'static str,
    key: &'static str,
) -> Result<Option<String>, Error> {
    optional(
        dict,
        header,
        key,
        |i| i.as_str().map(str::to_owned),
        "a string",
    )
}
