//! Who may do what. Pure rules, no HTTP: the HTTP layer maps [`Denied`] to 404/403.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// The whole platform.
    Admin,
    /// One issuer: profile, keys, members, skills, nanomodules (and later metro lines).
    IssuerAdmin,
    /// One issuer: reads its catalogue, awards badges.
    Trainer,
    /// One issuer: reads everything, changes nothing.
    Auditor,
}

impl Role {
    pub const ISSUER_ROLES: [Role; 3] = [Role::IssuerAdmin, Role::Trainer, Role::Auditor];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::IssuerAdmin => "issuer_admin",
            Role::Trainer => "trainer",
            Role::Auditor => "auditor",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Role, String> {
        match s {
            "admin" => Ok(Role::Admin),
            "issuer_admin" => Ok(Role::IssuerAdmin),
            "trainer" => Ok(Role::Trainer),
            "auditor" => Ok(Role::Auditor),
            other => Err(format!("unknown role '{other}' (admin, issuer_admin, trainer, auditor)")),
        }
    }
}

/// Why an action is refused. `Hidden` must look exactly like "does not exist" to the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Denied {
    /// Not visible to this caller (another issuer's data): answer as if absent.
    Hidden,
    /// Visible, but this role may not do it.
    Forbidden,
}

/// An authenticated caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// Token id (or `env:admin`), recorded as the actor in the audit chain.
    pub token_id: String,
    pub role: Role,
    /// The issuer an issuer-scoped role belongs to; `None` for `admin`.
    pub issuer_id: Option<Uuid>,
    /// The member the token was issued to, when there is one.
    pub member_id: Option<Uuid>,
}

/// What a caller wants to do with one issuer's data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Read the issuer's profile, catalogue, keys, members.
    Read,
    /// Change profile, keys, members, skills, nanomodules.
    Manage,
    /// Award badges (issue 3) — trainers and issuer admins.
    Award,
}

impl Principal {
    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }

    pub fn sees(&self, issuer: Uuid) -> bool {
        self.is_admin() || self.issuer_id == Some(issuer)
    }

    pub fn check(&self, issuer: Uuid, action: Action) -> Result<(), Denied> {
        if !self.sees(issuer) {
            return Err(Denied::Hidden);
        }
        let allowed = matches!(
            (self.role, action),
            (Role::Admin, _)
                | (_, Action::Read)
                | (Role::IssuerAdmin, Action::Manage | Action::Award)
                | (Role::Trainer, Action::Award)
        );
        if allowed { Ok(()) } else { Err(Denied::Forbidden) }
    }

    /// Platform-wide actions (creating issuers).
    pub fn check_admin(&self) -> Result<(), Denied> {
        if self.is_admin() { Ok(()) } else { Err(Denied::Forbidden) }
    }

    pub fn actor(&self) -> crate::domain::audit::Actor {
        crate::domain::audit::Actor { token: self.token_id.clone(), role: self.role.as_str().to_string() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(role: Role, issuer: Option<Uuid>) -> Principal {
        Principal { token_id: "t".into(), role, issuer_id: issuer, member_id: None }
    }

    #[test]
    fn matrix() {
        let mine = Uuid::new_v4();
        let other = Uuid::new_v4();
        use Action::*;
        let cases = [
            (Role::Admin, None, other, [Ok(()), Ok(()), Ok(())]),
            (Role::IssuerAdmin, Some(mine), mine, [Ok(()), Ok(()), Ok(())]),
            (Role::Trainer, Some(mine), mine, [Ok(()), Err(Denied::Forbidden), Ok(())]),
            (Role::Auditor, Some(mine), mine, [Ok(()), Err(Denied::Forbidden), Err(Denied::Forbidden)]),
            (Role::IssuerAdmin, Some(mine), other, [Err(Denied::Hidden); 3]),
            (Role::Trainer, Some(mine), other, [Err(Denied::Hidden); 3]),
            (Role::Auditor, Some(mine), other, [Err(Denied::Hidden); 3]),
        ];
        for (role, own, target, expected) in cases {
            let who = p(role, own);
            for (action, want) in [Read, Manage, Award].into_iter().zip(expected) {
                assert_eq!(who.check(target, action), want, "{role} {action:?}");
            }
        }
        assert!(p(Role::Admin, None).check_admin().is_ok());
        assert_eq!(p(Role::IssuerAdmin, Some(mine)).check_admin(), Err(Denied::Forbidden));
    }

    #[test]
    fn roles_round_trip() {
        for r in [Role::Admin, Role::IssuerAdmin, Role::Trainer, Role::Auditor] {
            assert_eq!(r.as_str().parse::<Role>().unwrap(), r);
        }
        assert!("root".parse::<Role>().is_err());
    }
}
