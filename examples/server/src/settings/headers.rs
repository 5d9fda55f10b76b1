//! The headers an app tells clients to send: `expo-server-defined-headers` (app-wide and
//! per channel) and the asset request headers (fixed ones, a signed token).
//!
//! In the configuration file, for the default app under `[serve]`, for another under
//! `[apps.NAME]` (an app does not inherit the default app's):
//!
//! ```toml
//! [serve.server-defined-headers]          # sent with every manifest answer
//! x-tenant = "acme"
//! [serve.channels.production.server-defined-headers]   # added for this channel
//! x-tier = "gold"
//! [serve.asset-request-headers]           # sent by clients with every asset request
//! x-cdn-key = "..."
//! [serve.asset-token]                     # a signed token per asset, checked by /assets
//! secret = "at least 32 characters"
//! header = "expo-asset-token"             # default
//! lifetime = "1d"                         # default
//! ```
//!
//! A server-defined header the client sets itself (its platform, runtime version, channel,
//! the protocol's headers: [`expo_sfv::ServerDefinedHeaders::RESERVED`]) stops startup with
//! an error naming it.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use expo_sfv::{Item, ServerDefinedHeaders};
use serde::Deserialize;

use crate::asset_headers::{
    AssetHeaders, AssetTokens, DEFAULT_TOKEN_HEADER, DEFAULT_TOKEN_LIFETIME,
};
use crate::blobs::urls::HumanDuration;
use crate::error::{Error, Result};

/// The header tables of `[serve]` or `[apps.NAME]`, as written (the configuration file
/// has these four members in both tables).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct FileHeaders {
    /// `server-defined-headers`.
    #[serde(default)]
    pub server_defined_headers: BTreeMap<String, toml::Value>,
    /// `channels.NAME`.
    #[serde(default)]
    pub channels: BTreeMap<String, FileChannel>,
    /// `asset-request-headers`.
    #[serde(default)]
    pub asset_request_headers: BTreeMap<String, String>,
    /// `asset-token`.
    pub asset_token: Option<FileAssetToken>,
}

/// `channels.NAME`: what one channel adds.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct FileChannel {
    #[serde(default)]
    server_defined_headers: BTreeMap<String, toml::Value>,
}

/// `asset-token`, as written.
#[derive(Clone, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct FileAssetToken {
    secret: String,
    header: Option<String>,
    lifetime: Option<HumanDuration>,
}

impl fmt::Debug for FileAssetToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FileAssetToken")
            .field("header", &self.header)
            .field("lifetime", &self.lifetime)
            .finish_non_exhaustive()
    }
}

/// One app's headers, checked.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HeaderSettings {
    /// `expo-server-defined-headers` of channels without their own (canonical Expo SFV;
    /// empty: none).
    pub server_defined: String,
    /// Per channel: the app-wide members, then the channel's (which win).
    pub channels: BTreeMap<String, String>,
    /// Fixed asset request headers.
    pub asset_request_headers: BTreeMap<String, String>,
    /// The signed asset token, when assets need one.
    pub asset_token: Option<AssetTokenSettings>,
}

/// `asset-token`: how asset tokens are signed and sent.
#[derive(Clone, PartialEq, Eq)]
pub struct AssetTokenSettings {
    /// The HMAC key.
    pub secret: String,
    /// The header the token travels in.
    pub header: String,
    /// How long a token is valid.
    pub lifetime: Duration,
}

impl fmt::Debug for AssetTokenSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AssetTokenSettings")
            .field("header", &self.header)
            .field("lifetime", &self.lifetime)
            .finish_non_exhaustive()
    }
}

impl HeaderSettings {
    /// Checks the tables of `section` (`serve` or `apps.NAME`, for messages).
    pub fn resolve(section: &str, file: &FileHeaders) -> Result<Self> {
        let app_wide = server_defined(
            &format!("[{section}.server-defined-headers]"),
            ServerDefinedHeaders::default(),
            &file.server_defined_headers,
        )?;
        let mut channels = BTreeMap::new();
        for (channel, table) in &file.channels {
            crate::store::checked_name("channel", channel)?;
            let merged = server_defined(
                &format!("[{section}.channels.{channel}.server-defined-headers]"),
                app_wide.clone(),
                &table.server_defined_headers,
            )?;
            channels.insert(channel.clone(), merged.to_header_value());
        }
        let asset_token = file.asset_token.as_ref().map(|token| AssetTokenSettings {
            secret: token.secret.clone(),
            header: token
                .header
                .clone()
                .unwrap_or_else(|| DEFAULT_TOKEN_HEADER.to_owned()),
            lifetime: token.lifetime.map_or(DEFAULT_TOKEN_LIFETIME, |d| d.0),
        });
        let settings = Self {
            server_defined: app_wide.to_header_value(),
            channels,
            asset_request_headers: file.asset_request_headers.clone(),
            asset_token,
        };
        // Checked now, so a mistake stops startup rather than the first request.
        settings
            .asset_headers()
            .map_err(|e| Error::Config(format!("[{section}] {e}")))?;
        Ok(settings)
    }

    /// The asset request headers, ready to use.
    pub fn asset_headers(&self) -> Result<AssetHeaders> {
        let tokens = self
            .asset_token
            .as_ref()
            .map(|t| AssetTokens::new(&t.secret, &t.header, t.lifetime))
            .transpose()?;
        AssetHeaders::new(self.asset_request_headers.clone(), tokens)
    }
}

/// `base` with the members of `table` added, each checked: a key the client sets itself
/// (or any key that is not a lower-case SFV key), a value that is not a string, integer or
/// boolean, or a string outside printable ASCII is refused, naming the key.
fn server_defined(
    table: &str,
    mut base: ServerDefinedHeaders,
    members: &BTreeMap<String, toml::Value>,
) -> Result<ServerDefinedHeaders> {
    for (key, value) in members {
        let item = match value {
            toml::Value::String(s) => Item::String(s.clone()),
            toml::Value::Integer(i) => Item::Integer(*i),
            toml::Value::Boolean(b) => Item::Boolean(*b),
            other => {
                return Err(Error::Config(format!(
                    "{table} {key}: a {} cannot be a header value (use a string, an integer or a boolean)",
                    other.type_str()
                )));
            }
        };
        base.insert(key.as_str(), item)
            .map_err(|e| Error::Config(format!("{table} {key}: {e}")))?;
    }
    Ok(base)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolve(text: &str) -> Result<HeaderSettings> {
        let file: FileHeaders = toml::from_str(text).unwrap();
        HeaderSettings::resolve("serve", &file)
    }

    #[test]
    fn channels_add_to_the_app_wide_headers() {
        let settings = resolve(
            r#"
server-defined-headers = { x-tenant = "acme", x-seq = 3 }
channels.production.server-defined-headers = { x-tier = "gold", x-seq = 4 }
channels.beta = {}
"#,
        )
        .unwrap();
        assert_eq!(settings.server_defined, r#"x-seq=3, x-tenant="acme""#);
        assert_eq!(
            settings.channels["production"],
            r#"x-seq=4, x-tenant="acme", x-tier="gold""#
        );
        assert_eq!(settings.channels["beta"], settings.server_defined);
    }

    #[test]
    fn reserved_and_unwritable_members_are_refused_by_name() {
        for (text, names) in [
            (
                r#"server-defined-headers = { expo-channel-name = "x" }"#,
                "expo-channel-name",
            ),
            (
                r#"channels.p.server-defined-headers = { expo-runtime-version = "2" }"#,
                "[serve.channels.p.server-defined-headers] expo-runtime-version",
            ),
            (
                r#"server-defined-headers = { EXPO-PLATFORM = "ios" }"#,
                "EXPO-PLATFORM",
            ),
            (r#"server-defined-headers = { X-Tenant = "a" }"#, "X-Tenant"),
            (r#"server-defined-headers = { x-a = "caf\u00e9" }"#, "x-a"),
            (r"server-defined-headers = { x-a = 1.5 }", "x-a"),
            (r#"asset-request-headers = { "x a" = "1" }"#, "x a"),
            (r#"asset-token = { secret = "short" }"#, "secret"),
        ] {
            let err = resolve(text).unwrap_err().to_string();
            assert!(err.contains(names), "{text}: {err}");
        }
    }

    #[test]
    fn the_asset_token_has_defaults_and_keeps_its_secret() {
        let settings =
            resolve(r#"asset-token = { secret = "0123456789abcdef0123456789abcdef" }"#).unwrap();
        let token = settings.asset_token.as_ref().unwrap();
        assert_eq!(token.header, DEFAULT_TOKEN_HEADER);
        assert_eq!(token.lifetime, DEFAULT_TOKEN_LIFETIME);
        assert!(!format!("{settings:?}").contains("0123456789abcdef"));
        assert!(settings.asset_headers().unwrap().tokens().is_some());
    }
}
