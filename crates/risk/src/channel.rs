//! The channels a declaration can be sent to, from the lightest to the strictest.

use serde::{Deserialize, Serialize};

/// Where the goods go next. Ordered by strictness: when several sources ask for a channel, the strictest wins.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    /// Released on the declaration.
    Release,
    /// Released after an officer checks the documents.
    DocumentCheck,
    /// Samples are taken and the goods released; they may not be sold until the result is acceptable
    /// (measure 12, "release after sampling").
    SampleThenRelease,
    /// Physical inspection before release.
    Inspection,
    /// Held: not released until an officer lifts the hold (an active alert of the highest severity).
    Hold,
    /// Refused entry (prohibited goods).
    Refuse,
}

impl Channel {
    pub const ALL: [Channel; 6] = [
        Channel::Release,
        Channel::DocumentCheck,
        Channel::SampleThenRelease,
        Channel::Inspection,
        Channel::Hold,
        Channel::Refuse,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Release => "release",
            Channel::DocumentCheck => "document_check",
            Channel::SampleThenRelease => "sample_then_release",
            Channel::Inspection => "inspection",
            Channel::Hold => "hold",
            Channel::Refuse => "refuse",
        }
    }

    pub fn parse(text: &str) -> Option<Channel> {
        Channel::ALL.into_iter().find(|c| c.as_str() == text)
    }

    /// The accepted spellings, for error messages.
    pub fn expected() -> String {
        Channel::ALL.iter().map(|c| format!("`{}`", c.as_str())).collect::<Vec<_>>().join(", ")
    }

    /// Whether an officer looks at the goods (inspection or sampling): what the inspection rates count.
    pub fn is_physical(self) -> bool {
        matches!(self, Channel::SampleThenRelease | Channel::Inspection | Channel::Hold)
    }
}

impl std::fmt::Display for Channel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
