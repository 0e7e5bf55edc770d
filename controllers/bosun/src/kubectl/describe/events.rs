//! Upstream's `DescribeEvents`.

use k8s_openapi::api::core::v1::Event;
use k8s_openapi::jiff::Timestamp;

use super::Writer;
use super::text::since;

/// Upstream's `DescribeEvents`, sorted as `SortableEvents` (by last timestamp, stably).
pub(super) fn describe_events(w: &mut Writer, events: &[Event], now: Timestamp) {
    if events.is_empty() {
        w.w(0, "Events:\t<none>\n");
        return;
    }
    w.flush();
    let mut events: Vec<&Event> = events.iter().collect();
    events.sort_by_key(|e| e.last_timestamp.as_ref().map(|t| t.0));
    w.w(0, "Events:\n  Type\tReason\tAge\tFrom\tMessage\n");
    w.w(1, "----\t------\t----\t----\t-------\n");
    for e in events {
        let first = match &e.event_time {
            Some(t) => since(Some(t.0), now),
            None => since(e.first_timestamp.as_ref().map(|t| t.0), now),
        };
        let interval = if let Some(s) = &e.series {
            format!(
                "{} (x{} over {first})",
                since(s.last_observed_time.as_ref().map(|t| t.0), now),
                s.count.unwrap_or(0)
            )
        } else if e.count.unwrap_or(0) > 1 {
            format!(
                "{} (x{} over {first})",
                since(e.last_timestamp.as_ref().map(|t| t.0), now),
                e.count.unwrap_or(0)
            )
        } else {
            first
        };
        let source = e
            .source
            .as_ref()
            .and_then(|s| s.component.clone())
            .filter(|c| !c.is_empty())
            .or_else(|| e.reporting_component.clone())
            .unwrap_or_default();
        let mut message = e.message.clone().unwrap_or_default().trim().to_string();
        if let Some(fp) = e
            .involved_object
            .field_path
            .as_deref()
            .filter(|f| !f.is_empty())
        {
            message = format!("{fp}: {message}");
        }
        w.w(
            1,
            &format!(
                "{}\t{}\t{interval}\t{source}\t{message}\n",
                e.type_.clone().unwrap_or_default(),
                e.reason.clone().unwrap_or_default()
            ),
        );
    }
}
