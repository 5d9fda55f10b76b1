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
