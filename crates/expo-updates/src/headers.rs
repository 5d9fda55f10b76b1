//! Names of the headers of the protocol, lower case as `http` stores them.

/// `expo-protocol-version`
pub const PROTOCOL_VERSION: &str = "expo-protocol-version";
/// `expo-platform`
pub const PLATFORM: &str = "expo-platform";
/// `expo-runtime-version`
pub const RUNTIME_VERSION: &str = "expo-runtime-version";
/// `expo-expect-signature`
pub const EXPECT_SIGNATURE: &str = "expo-expect-signature";
/// `expo-signature`
pub const SIGNATURE: &str = "expo-signature";
/// `expo-channel-name`
pub const CHANNEL_NAME: &str = "expo-channel-name";
/// `expo-current-update-id`
pub const CURRENT_UPDATE_ID: &str = "expo-current-update-id";
/// `expo-embedded-update-id`
pub const EMBEDDED_UPDATE_ID: &str = "expo-embedded-update-id";
/// `expo-requested-update-id`
pub const REQUESTED_UPDATE_ID: &str = "expo-requested-update-id";
/// `expo-recent-failed-update-ids`
pub const RECENT_FAILED_UPDATE_IDS: &str = "expo-recent-failed-update-ids";
/// `expo-fatal-error`
pub const FATAL_ERROR: &str = "expo-fatal-error";
/// `expo-extra-params`
pub const EXTRA_PARAMS: &str = "expo-extra-params";
/// `eas-client-id`
pub const EAS_CLIENT_ID: &str = "eas-client-id";
/// `a-im`
pub const A_IM: &str = "a-im";
/// `expo-sfv-version`
pub const SFV_VERSION: &str = "expo-sfv-version";
/// `expo-manifest-filters`
pub const MANIFEST_FILTERS: &str = "expo-manifest-filters";
/// `expo-server-defined-headers`
pub const SERVER_DEFINED_HEADERS: &str = "expo-server-defined-headers";

/// The same names as [`HeaderName`](http::HeaderName)s, built at compile time
/// so lookups skip parsing the name.
pub(crate) mod name {
    use http::HeaderName;

    pub(crate) const PROTOCOL_VERSION: HeaderName =
        HeaderName::from_static(super::PROTOCOL_VERSION);
    pub(crate) const PLATFORM: HeaderName = HeaderName::from_static(super::PLATFORM);
    pub(crate) const RUNTIME_VERSION: HeaderName = HeaderName::from_static(super::RUNTIME_VERSION);
    pub(crate) const EXPECT_SIGNATURE: HeaderName =
        HeaderName::from_static(super::EXPECT_SIGNATURE);
    pub(crate) const SIGNATURE: HeaderName = HeaderName::from_static(super::SIGNATURE);
    pub(crate) const CHANNEL_NAME: HeaderName = HeaderName::from_static(super::CHANNEL_NAME);
    pub(crate) const CURRENT_UPDATE_ID: HeaderName =
        HeaderName::from_static(super::CURRENT_UPDATE_ID);
    pub(crate) const EMBEDDED_UPDATE_ID: HeaderName =
        HeaderName::from_static(super::EMBEDDED_UPDATE_ID);
    pub(crate) const REQUESTED_UPDATE_ID: HeaderName =
        HeaderName::from_static(super::REQUESTED_UPDATE_ID);
    pub(crate) const RECENT_FAILED_UPDATE_IDS: HeaderName =
        HeaderName::from_static(super::RECENT_FAILED_UPDATE_IDS);
    pub(crate) const FATAL_ERROR: HeaderName = HeaderName::from_static(super::FATAL_ERROR);
    pub(crate) const EXTRA_PARAMS: HeaderName = HeaderName::from_static(super::EXTRA_PARAMS);
    pub(crate) const EAS_CLIENT_ID: HeaderName = HeaderName::from_static(super::EAS_CLIENT_ID);
    pub(crate) const A_IM: HeaderName = HeaderName::from_static(super::A_IM);
}
