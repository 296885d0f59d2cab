//! Traffic tags: Suricata logs flowbits named `traffic/id/NAME` and
//! `traffic/label/NAME` as the `traffic` object (`id` and `label` lists) of
//! a flow's events.

/// A flowbit whose name puts the flow in a traffic group: Suricata logs
/// flowbits named `traffic/id/NAME` and `traffic/label/NAME` as the
/// `traffic` object (`id` and `label` lists) of the flow's events.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrafficTag {
    /// The flowbit.
    pub(crate) id: u16,
    /// True for `traffic/id/`, false for `traffic/label/`.
    pub is_id: bool,
    /// The name after the prefix.
    pub name: String,
}

impl TrafficTag {
    /// The tag a flowbit name makes, if it has a traffic prefix.
    pub(crate) fn of(id: u16, name: &str) -> Option<TrafficTag> {
        let (is_id, rest) = match name.strip_prefix("traffic/id/") {
            Some(rest) => (true, rest),
            None => (false, name.strip_prefix("traffic/label/")?),
        };
        (!rest.is_empty()).then(|| TrafficTag {
            id,
            is_id,
            name: rest.to_string(),
        })
    }
}
