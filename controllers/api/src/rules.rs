//! Upstream's API validation for Deployment and ReplicaSet as CEL rules, each with upstream's
//! message (`pkg/apis/apps/validation/validation.go`, `apimachinery/.../meta/v1/validation`).
//!
//! The rule numbers (V2–V21) are those of the upstream inventory, §3. A CEL failure reads
//! `<fieldPath>: Invalid value: "<type>": <message>` (or `Forbidden: <message>` where the rule
//! has that reason), so the message is upstream's text and the field path upstream's path.

use kube::core::{Message, Reason, Rule};

/// Upstream's `ValidateNonnegativeField` message.
pub const NONNEGATIVE: &str = "must be greater than or equal to 0";
/// Upstream's `IsValidPercent` message (built by `RegexError`).
pub const PERCENT: &str = "a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')";
/// Upstream's label-value message (`IsValidLabelValue`).
pub const LABEL_VALUE: &str = "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')";
/// The regex of a label value, at most 63 characters.
const LABEL_VALUE_RE: &str = "^(([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9])?$";
/// The regex of a qualified name (label key): an optional DNS-subdomain prefix and a name.
const LABEL_KEY_RE: &str = "^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\\\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$";

/// V2, V3, V17: `ValidateNonnegativeField`.
pub fn nonnegative() -> Rule {
    Rule::new("self >= 0").message(NONNEGATIVE)
}

/// V6: `len(matchLabels)+len(matchExpressions) == 0` is refused. Upstream uses the Deployment's
/// wording for ReplicaSets too.
pub fn selector_not_empty() -> Rule {
    Rule::new(
        "(has(self.matchLabels) ? size(self.matchLabels) : 0) + \
         (has(self.matchExpressions) ? size(self.matchExpressions) : 0) > 0",
    )
    .message("empty selector is invalid for deployment")
}

/// V19: the selector is immutable in `apps/v1` (`ValidateImmutableField`).
pub fn selector_immutable() -> Rule {
    Rule::new("self == oldSelf").message("field is immutable")
}

/// V5: every `matchExpressions` operator is one of the four upstream knows.
pub fn selector_operators() -> Rule {
    Rule::new(
        "!has(self.matchExpressions) || self.matchExpressions.all(e, \
         e.operator in ['In', 'NotIn', 'Exists', 'DoesNotExist'])",
    )
    .message("not a valid selector operator")
}

/// V5: `In` and `NotIn` need values.
pub fn selector_in_needs_values() -> Rule {
    Rule::new(
        "!has(self.matchExpressions) || self.matchExpressions.all(e, \
         !(e.operator in ['In', 'NotIn']) || (has(e.values) && size(e.values) > 0))",
    )
    .message("must be specified when `operator` is 'In' or 'NotIn'")
    .reason(Reason::FieldValueRequired)
}

/// V5: `Exists` and `DoesNotExist` take no values.
pub fn selector_exists_no_values() -> Rule {
    Rule::new(
        "!has(self.matchExpressions) || self.matchExpressions.all(e, \
         !(e.operator in ['Exists', 'DoesNotExist']) || !has(e.values) || size(e.values) == 0)",
    )
    .message("may not be specified when `operator` is 'Exists' or 'DoesNotExist'")
    .reason(Reason::FieldValueForbidden)
}

/// V5: selector values are valid label values (strict, as upstream validates selectors of
/// workloads with `AllowInvalidLabelValueInSelector: false`).
pub fn selector_label_values() -> Rule {
    Rule::new(format!(
        "(!has(self.matchLabels) || self.matchLabels.all(k, self.matchLabels[k].matches('{LABEL_VALUE_RE}'))) && \
         (!has(self.matchExpressions) || self.matchExpressions.all(e, !has(e.values) || \
         e.values.all(v, v.matches('{LABEL_VALUE_RE}'))))"
    ))
    .message(LABEL_VALUE)
}

/// V5: selector keys are qualified names.
pub fn selector_label_keys() -> Rule {
    Rule::new(format!(
        "(!has(self.matchLabels) || self.matchLabels.all(k, k.matches('{LABEL_KEY_RE}'))) && \
         (!has(self.matchExpressions) || self.matchExpressions.all(e, e.key.matches('{LABEL_KEY_RE}')))"
    ))
    .message(
        "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end \
         with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')",
    )
}

/// V7: the selector must select the template's labels (`LabelSelectorAsSelector(...).Matches`),
/// operator by operator: `In` needs the key with a listed value, `NotIn` the key absent or with
/// an unlisted value, `Exists` the key, `DoesNotExist` its absence. Applies at `spec`.
pub fn selector_matches_template() -> Rule {
    const L: &str = "self.template.metadata.labels";
    Rule::new(format!(
        "!has(self.selector) || !has(self.template) || (\
         (!has(self.selector.matchLabels) || self.selector.matchLabels.all(k, \
           has(self.template.metadata) && has({L}) && k in {L} && {L}[k] == self.selector.matchLabels[k])) && \
         (!has(self.selector.matchExpressions) || self.selector.matchExpressions.all(e, \
           e.operator == 'In' ? (has(self.template.metadata) && has({L}) && e.key in {L} && has(e.values) && {L}[e.key] in e.values) : \
           e.operator == 'NotIn' ? (!has(self.template.metadata) || !has({L}) || !(e.key in {L}) || !has(e.values) || !({L}[e.key] in e.values)) : \
           e.operator == 'Exists' ? (has(self.template.metadata) && has({L}) && e.key in {L}) : \
           (!has(self.template.metadata) || !has({L}) || !(e.key in {L})))))"
    ))
    .message("`selector` does not match template `labels`")
    .field_path(".template.metadata.labels")
}

/// V10: `activeDeadlineSeconds` is forbidden in a workload's Pod template. Applies at `template`.
pub fn no_active_deadline() -> Rule {
    Rule::new("!has(self.spec) || !has(self.spec.activeDeadlineSeconds)")
        .message("activeDeadlineSeconds in ReplicaSet is not Supported")
        .reason(Reason::FieldValueForbidden)
        .field_path(".spec.activeDeadlineSeconds")
}

/// V12: a `Recreate` strategy carries no `rollingUpdate`. Applies at `strategy`.
pub fn recreate_has_no_rolling_update() -> Rule {
    Rule::new("!has(self.type) || self.type != 'Recreate' || !has(self.rollingUpdate)")
        .message("may not be specified when strategy `type` is 'Recreate'")
        .reason(Reason::FieldValueForbidden)
        .field_path(".rollingUpdate")
}

/// V14: `ValidatePositiveIntOrPercent`: a non-negative integer or a percent string.
pub fn int_or_percent() -> Rule {
    Rule::new("type(self) == int ? self >= 0 : string(self).matches('^[0-9]+%$')").message(
        Message::Expression(format!(
            "type(self) == int ? '{NONNEGATIVE}' : \"{}\"",
            PERCENT
        )),
    )
}

/// V16: `IsNotMoreThan100Percent` on `maxUnavailable` (integers are not bounded).
pub fn at_most_100_percent() -> Rule {
    Rule::new(
        "type(self) == int || !string(self).matches('^[0-9]+%$') || \
         int(string(self).substring(0, size(string(self)) - 1)) <= 100",
    )
    .message("must not be greater than 100%")
}

/// V15: `maxSurge` and `maxUnavailable` are not both zero ("0%" counts as zero; an absent value
/// defaults to 25%). Applies at `rollingUpdate`.
pub fn not_both_zero() -> Rule {
    const Z: &str = "(type(v) == int ? v == 0 : string(v).matches('^0+%$'))";
    let zero = |f: &str| format!("(has(self.{f}) && [self.{f}].all(v, {Z}))");
    Rule::new(format!(
        "!({} && {})",
        zero("maxSurge"),
        zero("maxUnavailable")
    ))
    .message("may not be 0 when `maxSurge` is 0")
    .field_path(".maxUnavailable")
}

/// V18: `progressDeadlineSeconds` must exceed `minReadySeconds`. Applies at `spec`.
pub fn progress_deadline_after_min_ready() -> Rule {
    Rule::new(
        "!has(self.progressDeadlineSeconds) || \
         self.progressDeadlineSeconds > (has(self.minReadySeconds) ? self.minReadySeconds : 0)",
    )
    .message("must be greater than minReadySeconds")
    .field_path(".progressDeadlineSeconds")
}

/// V20: `<field> <= status.replicas`. Applies at `status`.
pub fn status_at_most_replicas(field: &str) -> Rule {
    Rule::new(format!(
        "!has(self.{field}) || self.{field} <= (has(self.replicas) ? self.replicas : 0)"
    ))
    .message("cannot be greater than status.replicas")
    .field_path(format!(".{field}"))
}

/// V20: `availableReplicas <= readyReplicas`. Applies at `status`.
pub fn status_available_at_most_ready() -> Rule {
    Rule::new(
        "!has(self.availableReplicas) || \
         self.availableReplicas <= (has(self.readyReplicas) ? self.readyReplicas : 0)",
    )
    .message("cannot be greater than readyReplicas")
    .field_path(".availableReplicas")
}

/// V21: `status.collisionCount` never decreases.
pub fn not_decremented() -> Rule {
    Rule::new("self >= oldSelf").message("cannot be decremented")
}
