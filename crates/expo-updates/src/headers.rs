//! The headers of the protocol, as [`HeaderName`]s built at compile time
//! (lower case, as `http` stores them), and as text in [`names`].
//!
//! # Examples
//!
//! ```
//! use expo_updates::headers;
//!
//! let mut map = http::HeaderMap::new();
//! map.insert(headers::EXPO_PLATFORM, http::HeaderValue::from_static("ios"));
//! assert_eq!(map["expo-platform"], "ios");
//! assert_eq!(headers::EXPO_PLATFORM.as_str(), headers::names::EXPO_PLATFORM);
//! ```

use http::HeaderName;

macro_rules! protocol_headers {
    ($($(#[$doc:meta])* $name:ident = $text:literal;)*) => {
        $(
            $(#[$doc])*
            pub const $name: HeaderName = HeaderName::from_static($text);
        )*

        /// The same names as `&'static str`, for messages and for APIs that
        /// take text.
        pub mod names {
            $(
                #[doc = concat!("`", $text, "`")]
                pub const $name: &str = $text;
            )*
        }

        #[cfg(test)]
        fn all() -> Vec<(HeaderName, &'static str)> {
            vec![$(($name, names::$name)),*]
        }
    };
}

protocol_headers! {
    /// `expo-protocol-version`: the protocol a request speaks (absent: 0)
    /// and the one a response answers with (1).
    EXPO_PROTOCOL_VERSION = "expo-protocol-version";
    /// `expo-platform`: `ios` or `android`.
    EXPO_PLATFORM = "expo-platform";
    /// `expo-runtime-version`: the runtime version of the app binary.
    EXPO_RUNTIME_VERSION = "expo-runtime-version";
    /// `expo-expect-signature`: the signature a client verifies (an Expo SFV
    /// dictionary, [`expo_sfv::ExpectSignature`]).
    EXPO_EXPECT_SIGNATURE = "expo-expect-signature";
    /// `expo-signature`: the signature of a manifest or directive
    /// ([`expo_sfv::Signature`]), on the response or on a multipart part.
    EXPO_SIGNATURE = "expo-signature";
    /// `expo-channel-name`: the channel an app asks for (a request header the
    /// app configures).
    EXPO_CHANNEL_NAME = "expo-channel-name";
    /// `expo-current-update-id`: the update the device runs.
    EXPO_CURRENT_UPDATE_ID = "expo-current-update-id";
    /// `expo-embedded-update-id`: the update built into the app binary.
    EXPO_EMBEDDED_UPDATE_ID = "expo-embedded-update-id";
    /// `expo-requested-update-id`: the update whose launch asset is requested
    /// (with `a-im: bsdiff`).
    EXPO_REQUESTED_UPDATE_ID = "expo-requested-update-id";
    /// `expo-recent-failed-update-ids`: an Expo SFV list of update ids that
    /// failed to launch.
    EXPO_RECENT_FAILED_UPDATE_IDS = "expo-recent-failed-update-ids";
    /// `expo-fatal-error`: the error of a failed launch.
    EXPO_FATAL_ERROR = "expo-fatal-error";
    /// `expo-extra-params`: an Expo SFV dictionary the app sets.
    EXPO_EXTRA_PARAMS = "expo-extra-params";
    /// `eas-client-id`: a stable id per install.
    EAS_CLIENT_ID = "eas-client-id";
    /// `a-im`: the instance manipulations a client accepts (RFC 3229), read
    /// by [`expo_accept::AcceptIm`].
    A_IM = "a-im";
    /// `im`: the instance manipulation of a `226 IM Used` answer.
    IM = "im";
    /// `expo-base-update-id`: the update a served patch applies to.
    EXPO_BASE_UPDATE_ID = "expo-base-update-id";
    /// `expo-sfv-version`: the Expo SFV version of a response (0).
    EXPO_SFV_VERSION = "expo-sfv-version";
    /// `expo-manifest-filters`: an Expo SFV dictionary
    /// ([`expo_sfv::ManifestFilters`]).
    EXPO_MANIFEST_FILTERS = "expo-manifest-filters";
    /// `expo-server-defined-headers`: an Expo SFV dictionary
    /// ([`expo_sfv::ServerDefinedHeaders`]) the client sends back.
    EXPO_SERVER_DEFINED_HEADERS = "expo-server-defined-headers";
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_header_names_agree() {
        let all = all();
        for (name, text) in &all {
            assert_eq!(name.as_str(), *text);
            assert_eq!(HeaderName::from_bytes(text.as_bytes()).unwrap(), name);
        }
        assert_eq!(all.len(), 19);
    }
}
