//! The words and small tables every describer shares: ages, selectors, labels and
//! annotations, conditions (apimachinery's and kubectl's helpers of the same names).

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use k8s_openapi::jiff::{Timestamp, tz::TimeZone};

use super::Writer;

/// apimachinery's `duration.HumanDuration`.
pub fn human_duration(secs: i64) -> String {
    if secs < -1 {
        return "<invalid>".into();
    }
    if secs < 0 {
        return "0s".into();
    }
    if secs < 120 {
        return format!("{secs}s");
    }
    let minutes = secs / 60;
    if minutes < 10 {
        let s = secs % 60;
        return if s == 0 {
            format!("{minutes}m")
        } else {
            format!("{minutes}m{s}s")
        };
    }
    if minutes < 180 {
        return format!("{minutes}m");
    }
    let hours = secs / 3600;
    if hours < 8 {
        let m = minutes % 60;
        return if m == 0 {
            format!("{hours}h")
        } else {
            format!("{hours}h{m}m")
        };
    }
    if hours < 48 {
        return format!("{hours}h");
    }
    if hours < 24 * 8 {
        let h = hours % 24;
        return if h == 0 {
            format!("{}d", hours / 24)
        } else {
            format!("{}d{h}h", hours / 24)
        };
    }
    if hours < 24 * 365 * 2 {
        return format!("{}d", hours / 24);
    }
    if hours < 24 * 365 * 8 {
        let dy = (hours / 24) % 365;
        return if dy == 0 {
            format!("{}y", hours / 24 / 365)
        } else {
            format!("{}y{dy}d", hours / 24 / 365)
        };
    }
    format!("{}y", hours / 24 / 365)
}

pub(super) fn since(t: Option<Timestamp>, now: Timestamp) -> String {
    match t {
        Some(t) => human_duration(now.as_second() - t.as_second()),
        None => "<unknown>".into(),
    }
}

/// `metav1.LabelSelectorAsSelector(s).String()`: requirements sorted by key.
pub fn selector_string(s: &LabelSelector) -> String {
    let mut reqs: Vec<(String, String)> = Vec::new();
    for (k, v) in s.match_labels.iter().flatten() {
        reqs.push((k.clone(), format!("{k}={v}")));
    }
    for e in s.match_expressions.iter().flatten() {
        let mut values = e.values.clone().unwrap_or_default();
        values.sort();
        let k = &e.key;
        let text = match e.operator.as_str() {
            "In" => format!("{k} in ({})", values.join(",")),
            "NotIn" => format!("{k} notin ({})", values.join(",")),
            "Exists" => k.clone(),
            "DoesNotExist" => format!("!{k}"),
            other => format!("{k} {other} ({})", values.join(",")),
        };
        reqs.push((k.clone(), text));
    }
    reqs.sort_by(|a, b| a.0.cmp(&b.0));
    reqs.into_iter()
        .map(|(_, t)| t)
        .collect::<Vec<_>>()
        .join(",")
}

/// `metav1.FormatLabelSelector`: `<none>` when empty.
pub(super) fn format_selector(s: &LabelSelector) -> String {
    let text = selector_string(s);
    if text.is_empty() {
        "<none>".into()
    } else {
        text
    }
}

pub(super) fn int_or_string(v: &IntOrString) -> String {
    match v {
        IntOrString::Int(i) => i.to_string(),
        IntOrString::String(s) => s.clone(),
    }
}

pub(super) fn labels_multiline(
    w: &mut Writer,
    title: &str,
    labels: Option<&BTreeMap<String, String>>,
) {
    w.w(0, &format!("{title}:\t"));
    let Some(labels) = labels.filter(|l| !l.is_empty()) else {
        w.w(0, "<none>\n");
        return;
    };
    for (i, (k, v)) in labels.iter().enumerate() {
        if i != 0 {
            w.w(0, "\t");
        }
        w.w(0, &format!("{k}={v}\n"));
    }
}

pub(super) fn annotations_multiline(
    w: &mut Writer,
    title: &str,
    annotations: Option<&BTreeMap<String, String>>,
) {
    w.w(0, &format!("{title}:\t"));
    let keys: Vec<(&String, &String)> = annotations
        .into_iter()
        .flatten()
        .filter(|(k, _)| k.as_str() != "kubectl.kubernetes.io/last-applied-configuration")
        .collect();
    if keys.is_empty() {
        w.w(0, "<none>\n");
        return;
    }
    for (i, (k, v)) in keys.into_iter().enumerate() {
        if i != 0 {
            w.w(0, "\t");
        }
        let value = v.strip_suffix('\n').unwrap_or(v);
        if value.len() + k.len() + 2 > 140 || value.contains('\n') {
            w.w(0, &format!("{k}:\n"));
            for s in value.split('\n') {
                let short = if s.len() > 138 {
                    format!("{}...", &s[..138])
                } else {
                    s.to_string()
                };
                w.w(0, &format!("\t  {short}\n"));
            }
        } else {
            w.w(0, &format!("{k}: {value}\n"));
        }
    }
}

pub(super) fn creation(meta: &ObjectMeta) -> String {
    match &meta.creation_timestamp {
        Some(t) => {
            t.0.to_zoned(TimeZone::system())
                .strftime("%a, %d %b %Y %H:%M:%S %z")
                .to_string()
        }
        None => "Mon, 01 Jan 0001 00:00:00 +0000".into(),
    }
}

/// bosun's `spec.scaleStrategy.podsToDelete`, when it names any Pod.
pub(super) fn describe_pods_to_delete(w: &mut Writer, s: Option<&bosun_api::apps::ScaleStrategy>) {
    let names = s
        .and_then(|s| s.pods_to_delete.as_deref())
        .unwrap_or_default();
    if !names.is_empty() {
        w.w(0, &format!("PodsToDelete:\t{}\n", names.join(", ")));
    }
}

/// The Conditions table of a Deployment or ReplicaSet: type, status, reason.
pub(super) fn describe_conditions<'a>(
    w: &mut Writer,
    conditions: impl Iterator<Item = (&'a str, &'a str, Option<&'a str>)>,
) {
    let mut conditions = conditions.peekable();
    if conditions.peek().is_none() {
        return;
    }
    w.w(0, "Conditions:\n  Type\tStatus\tReason\n");
    w.w(1, "----\t------\t------\n");
    for (type_, status, reason) in conditions {
        w.w(
            1,
            &format!("{type_} \t{status}\t{}\n", reason.unwrap_or_default()),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn human_duration_matches_apimachinery() {
        for (secs, want) in [
            (-5, "<invalid>"),
            (-1, "0s"),
            (5, "5s"),
            (119, "119s"),
            (150, "2m30s"),
            (600, "10m"),
            (3 * 3600 + 60, "3h1m"),
            (9 * 3600, "9h"),
            (3 * 86400, "3d"),
            (30 * 86400, "30d"),
            (800 * 86400, "2y70d"),
        ] {
            assert_eq!(human_duration(secs), want, "{secs}");
        }
    }

    #[test]
    fn selectors_print_sorted_by_key() {
        let s: LabelSelector = serde_json::from_value(json!({"matchLabels": {"b": "2", "a": "1"},
            "matchExpressions": [{"key": "c", "operator": "In", "values": ["y", "x"]}, {"key": "0", "operator": "DoesNotExist"}]})).unwrap();
        assert_eq!(selector_string(&s), "!0,a=1,b=2,c in (x,y)");
        assert_eq!(format_selector(&LabelSelector::default()), "<none>");
    }
}
