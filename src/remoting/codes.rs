//! Open sets of protocol numbers: request codes, response codes, language codes and
//! version ordinals.
//!
//! Each is a newtype over the integer that is on the wire, with named constants and a
//! `name()` that returns `None` for values this build does not know, so an unknown code
//! still decodes (its header is shown as raw extFields).
//!
//! Sources: `RequestCode.java`, `ResponseCode.java`, `RemotingSysResponseCode.java`,
//! `LanguageCode.java` (apache/rocketmq `remoting/src/main/java/org/apache/rocketmq/remoting/protocol/`,
//! `common/.../protocol/` before 5.1.0) and `common/src/main/java/org/apache/rocketmq/common/MQVersion.java`.

use std::fmt;
use std::sync::OnceLock;

#[path = "code_tables.rs"]
mod tables;

fn lookup(table: &'static [(i32, &'static str)], code: i32) -> Option<&'static str> {
    table
        .binary_search_by_key(&code, |&(c, _)| c)
        .ok()
        .map(|i| table[i].1)
}

fn lookup_name(table: &'static [(i32, &'static str)], name: &str) -> Option<i32> {
    table
        .iter()
        .find(|(_, n)| n.eq_ignore_ascii_case(name))
        .map(|&(c, _)| c)
}

/// A request code (`RemotingCommand.code` of a request).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RequestCode(pub i32);

impl RequestCode {
    pub const SEND_MESSAGE: Self = Self(10);
    pub const PULL_MESSAGE: Self = Self(11);
    pub const QUERY_CONSUMER_OFFSET: Self = Self(14);
    pub const UPDATE_CONSUMER_OFFSET: Self = Self(15);
    pub const GET_MAX_OFFSET: Self = Self(30);
    pub const GET_MIN_OFFSET: Self = Self(31);
    pub const VIEW_MESSAGE_BY_ID: Self = Self(33);
    pub const HEART_BEAT: Self = Self(34);
    pub const UNREGISTER_CLIENT: Self = Self(35);
    pub const CONSUMER_SEND_MSG_BACK: Self = Self(36);
    pub const END_TRANSACTION: Self = Self(37);
    pub const GET_CONSUMER_LIST_BY_GROUP: Self = Self(38);
    pub const CHECK_TRANSACTION_STATE: Self = Self(39);
    pub const NOTIFY_CONSUMER_IDS_CHANGED: Self = Self(40);
    pub const REGISTER_BROKER: Self = Self(103);
    pub const GET_ROUTEINFO_BY_TOPIC: Self = Self(105);
    pub const CONSUME_MESSAGE_DIRECTLY: Self = Self(309);
    pub const SEND_MESSAGE_V2: Self = Self(310);
    pub const SEND_BATCH_MESSAGE: Self = Self(320);
    pub const SEND_REPLY_MESSAGE: Self = Self(324);
    pub const SEND_REPLY_MESSAGE_V2: Self = Self(325);
    pub const LITE_PULL_MESSAGE: Self = Self(361);

    /// The Java constant name, if this build knows the code.
    pub fn name(self) -> Option<&'static str> {
        lookup(tables::REQUEST_CODE_NAMES, self.0)
    }

    /// Parses a name (case-insensitive) or a number.
    pub fn parse(s: &str) -> Option<Self> {
        if let Ok(n) = s.trim().parse::<i32>() {
            return Some(Self(n));
        }
        lookup_name(tables::REQUEST_CODE_NAMES, s.trim()).map(Self)
    }

    /// True for the codes whose request body carries messages to store.
    pub fn is_send(self) -> bool {
        matches!(self.0, 10 | 310 | 320 | 324 | 325)
    }
}

impl fmt::Display for RequestCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(n) => f.write_str(n),
            None => write!(f, "REQUEST_{}", self.0),
        }
    }
}

/// A response code (`RemotingCommand.code` of a response).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ResponseCode(pub i32);

impl ResponseCode {
    pub const SUCCESS: Self = Self(0);
    pub const SYSTEM_ERROR: Self = Self(1);
    pub const SYSTEM_BUSY: Self = Self(2);
    pub const FLUSH_DISK_TIMEOUT: Self = Self(10);
    pub const SLAVE_NOT_AVAILABLE: Self = Self(11);
    pub const FLUSH_SLAVE_TIMEOUT: Self = Self(12);
    pub const TOPIC_NOT_EXIST: Self = Self(17);
    pub const PULL_NOT_FOUND: Self = Self(19);

    /// The Java constant name, if this build knows the code. Where two constants share a
    /// number (209–211 in 4.5.2–5.3.2) the 5.x name is given.
    pub fn name(self) -> Option<&'static str> {
        lookup(tables::RESPONSE_CODE_NAMES, self.0)
    }

    /// Parses a name (case-insensitive) or a number.
    pub fn parse(s: &str) -> Option<Self> {
        if let Ok(n) = s.trim().parse::<i32>() {
            return Some(Self(n));
        }
        lookup_name(tables::RESPONSE_CODE_NAMES, s.trim()).map(Self)
    }
}

impl fmt::Display for ResponseCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(n) => f.write_str(n),
            None => write!(f, "RESPONSE_{}", self.0),
        }
    }
}

/// `LanguageCode`: the byte in ROCKETMQ headers, the enum name in JSON headers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LanguageCode(pub u8);

const LANGUAGE_NAMES: [&str; 14] = [
    "JAVA", "CPP", "DOTNET", "PYTHON", "DELPHI", "ERLANG", "RUBY", "OTHER", "HTTP", "GO", "PHP",
    "OMS", "RUST", "NODE_JS",
];

impl LanguageCode {
    pub const JAVA: Self = Self(0);
    pub const CPP: Self = Self(1);
    pub const DOTNET: Self = Self(2);
    pub const GO: Self = Self(9);
    pub const RUST: Self = Self(12);

    pub fn name(self) -> Option<&'static str> {
        LANGUAGE_NAMES.get(self.0 as usize).copied()
    }

    /// The code for an enum name as JSON headers carry it (exact, like Java's `valueOf`).
    pub fn from_name(name: &str) -> Option<Self> {
        LANGUAGE_NAMES
            .iter()
            .position(|n| *n == name)
            .map(|i| Self(i as u8))
    }
}

impl fmt::Display for LanguageCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(n) => f.write_str(n),
            None => write!(f, "LANGUAGE_{}", self.0),
        }
    }
}

/// Header serialization, the high byte of the second frame word (`SerializeType.java`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SerializeType {
    Json,
    RocketMq,
}

impl SerializeType {
    pub fn from_byte(b: u8) -> Option<Self> {
        match b {
            0 => Some(Self::Json),
            1 => Some(Self::RocketMq),
            _ => None,
        }
    }
    pub fn byte(self) -> u8 {
        match self {
            Self::Json => 0,
            Self::RocketMq => 1,
        }
    }
    pub fn name(self) -> &'static str {
        match self {
            Self::Json => "JSON",
            Self::RocketMq => "ROCKETMQ",
        }
    }
}

/// The `MQVersion.Version` ordinal → name table (613 entries, append-only upstream).
fn version_names() -> &'static [String] {
    static NAMES: OnceLock<Vec<String>> = OnceLock::new();
    NAMES.get_or_init(|| {
        let mut v: Vec<String> = [
            "V3_0_0_SNAPSHOT",
            "V3_0_0_ALPHA1",
            "V3_0_0_BETA1",
            "V3_0_0_BETA2",
            "V3_0_0_BETA3",
            "V3_0_0_BETA4",
            "V3_0_0_BETA5",
            "V3_0_0_BETA6_SNAPSHOT",
            "V3_0_0_BETA6",
            "V3_0_0_BETA7_SNAPSHOT",
            "V3_0_0_BETA7",
            "V3_0_0_BETA8_SNAPSHOT",
            "V3_0_0_BETA8",
            "V3_0_0_BETA9_SNAPSHOT",
            "V3_0_0_BETA9",
            "V3_0_0_FINAL",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let mut push = |x: u32, y: u32, z: u32| {
            v.push(format!("V{x}_{y}_{z}_SNAPSHOT"));
            v.push(format!("V{x}_{y}_{z}"));
        };
        for z in 1..=15 {
            push(3, 0, z);
        }
        for y in 1..=2 {
            for z in 0..=9 {
                push(3, y, z);
            }
        }
        for y in 3..=9 {
            for z in 1..=9 {
                push(3, y, z);
            }
        }
        for x in 4..=5 {
            for y in 0..=9 {
                for z in 0..=9 {
                    push(x, y, z);
                }
            }
        }
        v.push("HIGHER_VERSION".to_string());
        v
    })
}

/// The release name for a `version` ordinal (`MQVersion.getVersionDesc`), e.g. 401 → `V4_9_4`.
/// Unlike Java, values past the table or negative give `None` instead of `HIGHER_VERSION`.
pub fn version_name(ordinal: i32) -> Option<&'static str> {
    usize::try_from(ordinal)
        .ok()
        .and_then(|i| version_names().get(i))
        .map(|s| s.as_str())
}

/// The ordinal for a release name (`V4_9_4` → 401).
pub fn version_ordinal(name: &str) -> Option<i32> {
    version_names()
        .iter()
        .position(|n| n.eq_ignore_ascii_case(name))
        .map(|i| i as i32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_table_matches_known_ordinals() {
        // Ordinals cited in protocol.md section 4.4 and seen in captures.
        for (ord, name) in [
            (121, "V3_4_9"),
            (213, "V4_0_0"),
            (293, "V4_4_0"),
            (317, "V4_5_2"),
            (333, "V4_6_0"),
            (373, "V4_8_0"),
            (399, "V4_9_3"),
            (401, "V4_9_4"),
            (407, "V4_9_7"),
            (413, "V5_0_0"),
            (474, "V5_3_1_SNAPSHOT"),
            (479, "V5_3_3"),
            (611, "V5_9_9"),
            (612, "HIGHER_VERSION"),
        ] {
            assert_eq!(version_name(ord), Some(name), "ordinal {ord}");
            assert_eq!(version_ordinal(name), Some(ord));
        }
        assert_eq!(version_name(613), None);
        assert_eq!(version_name(-1), None);
    }

    #[test]
    fn codes_are_open_sets() {
        assert_eq!(RequestCode(310).name(), Some("SEND_MESSAGE_V2"));
        assert_eq!(RequestCode(105).name(), Some("GET_ROUTEINFO_BY_TOPIC"));
        assert_eq!(RequestCode(200151).name(), Some("BATCH_ACK_MESSAGE"));
        assert_eq!(RequestCode(9999).name(), None);
        assert_eq!(RequestCode(9999).to_string(), "REQUEST_9999");
        assert_eq!(ResponseCode(17).name(), Some("TOPIC_NOT_EXIST"));
        assert_eq!(ResponseCode(-1006).name(), Some("RPC_TIME_OUT"));
        assert_eq!(
            RequestCode::parse("send_message_v2"),
            Some(RequestCode(310))
        );
        assert_eq!(RequestCode::parse("310"), Some(RequestCode(310)));
        assert_eq!(LanguageCode::from_name("RUST"), Some(LanguageCode(12)));
        assert_eq!(LanguageCode(200).name(), None);
    }
}
