//! Who may change whose account: the one rule behind unlocking (R2), password reset, retirement
//! (利用停止), a change of e-mail address and making a user the master user, whether asked from a
//! screen or from `cjs admin`.
//!
//! - The bank's shell (`cjs admin`) may do anything.
//! - Bank staff may act on anyone but themselves (their own password and address are changed on
//!   their own screen, with their password; they cannot retire themselves). Retiring the last active staff member is a separate refusal that
//!   needs the database: [`last_staff_member`].
//! - A master user acts on the general users of their own company only. Users of another company,
//!   and staff, are not even visible to them (`Hidden`, answered as 404), so a master cannot probe
//!   for IDs outside the company; a master or themselves is `Forbidden`. Choosing the company's
//!   master user is the bank's (`Forbidden` to a master).
//! - A general user may do none of it.
//!
//! A retired user is never acted on again (nothing left to reset or retire): [`Verdict::Retired`].

use common::api::Role;

/// An operation on another user's account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    /// Lift a lock or block (R2).
    Unlock,
    /// Replace the password by a new one-time initial password (R11).
    ResetPassword,
    /// Retire the user (利用停止): every certificate revoked, every login refused.
    Retire,
    /// Change the e-mail address on record (both addresses are told).
    ChangeEmail,
    /// Make a general user their company's master user (マスターユーザー変更).
    MakeMaster,
}

/// A party of an operation: who acts, or whom it is done to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Party {
    /// The row id (to tell a user acting on themselves).
    pub id: i64,
    pub role: Role,
    pub org_id: Option<i64>,
}

/// Whether the operation may go ahead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Allowed,
    /// Not visible to the actor: answered as if no such user existed (404).
    Hidden,
    /// Visible but not allowed (403).
    Forbidden,
    /// The target is retired: nothing can be done to it any more (409).
    Retired,
}

/// Decides whether `actor` (`None`: the bank's shell) may do `op` to `target`, who is retired or
/// not.
pub fn decide(actor: Option<Party>, target: Party, target_retired: bool, op: Operation) -> Verdict {
    let verdict = match actor {
        None => Verdict::Allowed,
        Some(a) => match a.role {
            Role::Staff if a.id == target.id && op != Operation::Unlock => Verdict::Forbidden,
            Role::Staff => Verdict::Allowed,
            Role::Master if target.org_id.is_none() || target.org_id != a.org_id => Verdict::Hidden,
            Role::Master if target.role == Role::General && op != Operation::MakeMaster => Verdict::Allowed,
            Role::Master | Role::General => Verdict::Forbidden,
        },
    };
    match verdict {
        Verdict::Allowed if target_retired => Verdict::Retired,
        v => v,
    }
}

/// Whether retiring `target` would leave no active staff member: `other_active_staff` counts the
/// active (not retired) staff members other than the target.
pub fn last_staff_member(target: Party, other_active_staff: u64) -> bool {
    target.role == Role::Staff && other_active_staff == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    const ORG: Option<i64> = Some(7);
    const OTHER_ORG: Option<i64> = Some(8);

    fn party(id: i64, role: Role, org_id: Option<i64>) -> Party {
        Party { id, role, org_id }
    }

    const OPS: [Operation; 5] =
        [Operation::Unlock, Operation::ResetPassword, Operation::Retire, Operation::ChangeEmail, Operation::MakeMaster];
    /// What a master user may do to a general user of their company.
    const MASTER_OPS: [Operation; 4] =
        [Operation::Unlock, Operation::ResetPassword, Operation::Retire, Operation::ChangeEmail];

    #[test]
    fn the_shell_may_do_anything_to_anyone_active() {
        for target in [party(2, Role::General, ORG), party(3, Role::Master, ORG), party(4, Role::Staff, None)] {
            for op in OPS {
                assert_eq!(decide(None, target, false, op), Verdict::Allowed, "{target:?} {op:?}");
            }
        }
    }

    #[test]
    fn staff_may_act_on_anyone_else() {
        let staff = party(1, Role::Staff, None);
        for target in [party(2, Role::General, ORG), party(3, Role::Master, OTHER_ORG), party(4, Role::Staff, None)] {
            for op in OPS {
                assert_eq!(decide(Some(staff), target, false, op), Verdict::Allowed, "{target:?} {op:?}");
            }
        }
    }

    #[test]
    fn staff_neither_reset_nor_retire_themselves() {
        let staff = party(1, Role::Staff, None);
        assert_eq!(decide(Some(staff), staff, false, Operation::ResetPassword), Verdict::Forbidden);
        assert_eq!(decide(Some(staff), staff, false, Operation::Retire), Verdict::Forbidden);
        assert_eq!(decide(Some(staff), staff, false, Operation::ChangeEmail), Verdict::Forbidden);
    }

    #[test]
    fn a_master_acts_on_the_general_users_of_their_own_company_only() {
        let master = party(1, Role::Master, ORG);
        for op in MASTER_OPS {
            assert_eq!(decide(Some(master), party(2, Role::General, ORG), false, op), Verdict::Allowed);
            assert_eq!(decide(Some(master), party(3, Role::General, OTHER_ORG), false, op), Verdict::Hidden);
            assert_eq!(decide(Some(master), party(4, Role::Staff, None), false, op), Verdict::Hidden);
            assert_eq!(decide(Some(master), party(5, Role::Master, ORG), false, op), Verdict::Forbidden);
            assert_eq!(decide(Some(master), master, false, op), Verdict::Forbidden, "never themselves");
        }
    }

    #[test]
    fn choosing_the_master_user_is_the_banks() {
        let master = party(1, Role::Master, ORG);
        let op = Operation::MakeMaster;
        assert_eq!(decide(Some(master), party(2, Role::General, ORG), false, op), Verdict::Forbidden);
        assert_eq!(decide(Some(master), party(3, Role::General, OTHER_ORG), false, op), Verdict::Hidden);
        assert_eq!(
            decide(Some(party(4, Role::Staff, None)), party(2, Role::General, ORG), false, op),
            Verdict::Allowed
        );
        assert_eq!(decide(None, party(2, Role::General, ORG), false, op), Verdict::Allowed);
    }

    #[test]
    fn a_general_user_may_do_none_of_it() {
        let general = party(1, Role::General, ORG);
        for op in OPS {
            assert_eq!(decide(Some(general), party(2, Role::General, ORG), false, op), Verdict::Forbidden);
            assert_eq!(decide(Some(general), general, false, op), Verdict::Forbidden);
        }
    }

    #[test]
    fn a_retired_user_is_acted_on_by_nobody_and_stays_hidden_where_it_was() {
        let staff = party(1, Role::Staff, None);
        let master = party(2, Role::Master, ORG);
        let retired = party(3, Role::General, ORG);
        for op in OPS {
            assert_eq!(decide(None, retired, true, op), Verdict::Retired);
            assert_eq!(decide(Some(staff), retired, true, op), Verdict::Retired);
            assert_eq!(decide(Some(master), party(4, Role::General, OTHER_ORG), true, op), Verdict::Hidden);
        }
        for op in MASTER_OPS {
            assert_eq!(decide(Some(master), retired, true, op), Verdict::Retired);
        }
    }

    #[test]
    fn the_last_active_staff_member_is_kept() {
        assert!(last_staff_member(party(1, Role::Staff, None), 0));
        assert!(!last_staff_member(party(1, Role::Staff, None), 1));
        assert!(!last_staff_member(party(1, Role::General, ORG), 0), "only staff count");
    }
}
