//! Aborting a rollout: Argo Rollouts' `abort` and `progressDeadlineAbort`, on a Deployment.
//!
//! An abort names the template it gives up on, by `pod-template-hash`, in
//! `status.abortedTemplateHash` (written by the controller when the progress deadline passes
//! with `spec.progressDeadlineAbort`, or by `kubectl bosun rollout abort`). While that is the
//! current template's hash, the strategy rolls toward the last complete revision instead: the
//! one `status.stableTemplateHash` names (written whenever a rollout completes), else the old
//! ReplicaSet of the highest revision. The rolling-update bounds hold as for any rollout.
//! `Progressing` stays False with reason RolloutAborted, so the deadline cannot fire again, and
//! nothing retries the template until `kubectl bosun rollout retry` clears the hash or the
//! template changes (a new hash makes the old one stale, and it is dropped).

use super::Pass;
use super::util::{POD_TEMPLATE_HASH, revision};

/// The Progressing reason of an aborted rollout.
pub const ABORTED: &str = "RolloutAborted";

/// The server-side-apply field manager that alone writes `status.abortedTemplateHash`: the
/// controller (on a deadline, or to drop a stale abort) and `kubectl bosun rollout
/// abort|retry` alike. The controller's status writes leave the field out, so a write from a
/// cache that predates an abort or a retry can neither undo nor bring it back.
pub const MANAGER: &str = "bosun-abort";

/// The `pod-template-hash` label of ReplicaSet `i`.
pub(crate) fn hash_of<'p>(p: &'p Pass<'_>, i: usize) -> Option<&'p str> {
    p.rss[i]
        .metadata
        .labels
        .as_ref()
        .and_then(|l| l.get(POD_TEMPLATE_HASH))
        .map(String::as_str)
}

/// Whether the rollout to the new ReplicaSet is aborted.
pub(crate) fn is_aborted(p: &Pass<'_>, new: Option<usize>) -> bool {
    let aborted = p.status.aborted_template_hash.as_deref();
    aborted.is_some() && new.and_then(|i| hash_of(p, i)) == aborted
}

/// The ReplicaSet an aborted rollout goes back to: the last complete revision's, else the old
/// one of the highest revision; `None` for a first rollout, which has nothing to go back to.
pub(crate) fn stable(p: &Pass<'_>, new: Option<usize>) -> Option<usize> {
    let olds = p.old_indexes(new);
    let named = p.status.stable_template_hash.as_deref();
    olds.iter()
        .copied()
        .find(|i| named.is_some() && hash_of(p, *i) == named)
        .or_else(|| olds.iter().copied().max_by_key(|i| revision(&p.rss[*i])))
}

/// Drop an abort whose template is gone (the template changed since), so a later return to
/// that template rolls out normally.
pub(crate) fn forget_stale(p: &mut Pass<'_>, new: Option<usize>) {
    if p.status.aborted_template_hash.is_some() && !is_aborted(p, new) {
        p.status.aborted_template_hash = None;
        p.abort = Some(None);
        p.write_status = true;
    }
}
