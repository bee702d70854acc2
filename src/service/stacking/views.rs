//! What stacking looks like from outside: line evaluations, learners' progress, migrating
//! learners to a new line version.

use super::*;
use crate::service::Stacking;

impl Service {
    /// Re-evaluates everyone who holds a station badge of a line, has started it or holds its
    /// certificate (e.g. after importing history) and reports what changed.
    #[tracing::instrument(skip_all, fields(actor = %who.token_id, id = %id))]
    pub async fn evaluate_line(&self, who: &Principal, id: Uuid) -> ServiceResult<LineEvaluation> {
        let row = self.store.metro_line(id, None).await?.ok_or(ServiceError::NotFound)?;
        who.check(row.issuer_id, Action::Manage)?;
        let spec: MetroLineSpec = decode_spec(&row.spec)?;
        let mut learners = std::collections::BTreeSet::new();
        for station in &spec.stations {
            learners.extend(self.store.holders_of(*station).await?);
        }
        learners.extend(self.store.learners_of_line(id).await?);
        let learners: Vec<Learner> = learners.into_iter().collect();
        let mut outcomes = self.restack_many(&learners).await;
        outcomes.retain(|o| o.metro_line == id);
        let of = |a: &str| outcomes.iter().filter(|o| o.action == a).map(|o| o.certificate.clone()).collect::<Vec<_>>();
        Ok(LineEvaluation {
            metro_line: id,
            learners_evaluated: learners.len(),
            issued: of("issued"),
            suspended: of("suspended"),
            reinstated: of("reinstated"),
            revoked: of("revoked"),
            superseded: of("superseded"),
        })
    }

    /// Where a learner stands on every line they started (for progress pages).
    #[tracing::instrument(skip_all)]
    pub async fn learner_progress(&self, who: &Learner) -> ServiceResult<Vec<LineProgress>> {
        let facts = self.learner_facts(who).await?;
        let mut out = Vec::new();
        for line in self.store.all_metro_lines().await? {
            if let Some(p) = self.progress_on(line, &facts, false).await? {
                out.push(p);
            }
        }
        Ok(out)
    }

    pub(in crate::service) async fn learner_facts(&self, who: &Learner) -> ServiceResult<LearnerFacts> {
        let mut rows = self.store.learners_rows(std::slice::from_ref(who)).await?;
        LearnerFacts::of(&rows.remove(who).unwrap_or_default(), self.now(), &mut Modules::default())
    }

    /// The learner's standing on one line, or `None` if they have not started it (unless
    /// `always`).
    pub(in crate::service) async fn progress_on(
        &self,
        line: MetroLineRow,
        facts: &LearnerFacts,
        always: bool,
    ) -> ServiceResult<Option<LineProgress>> {
        let current: MetroLineSpec = decode_spec(&line.spec)?;
        let latest_cert = facts.certs.iter().rev().find(|c| c.metro_line_id == line.metro_line_id);
        let Position { version, certificate: standing_cert, started, .. } =
            position(&line, &current, &facts.held, &facts.certs, &facts.enrolments);
        if !always && !started && latest_cert.is_none() {
            return Ok(None);
        }
        let spec = if version == line.version { current } else { self.line_spec(line.metro_line_id, version).await? };
        let mut names = facts.names.clone();
        for s in &spec.stations {
            if !names.contains_key(s)
                && let Some(v) = self.store.nanomodule_version(*s, None).await?
            {
                names.insert(*s, decode_spec::<NanomoduleSpec>(&v.spec)?.name.unwrap_or_default());
            }
        }
        let explanation = crate::domain::stacking::explain(&spec.effective_rule(), &facts.held, &names);
        Ok(Some(LineProgress {
            certificate: standing_cert.or(latest_cert).cloned(),
            line,
            spec,
            version,
            explanation,
            names,
        }))
    }

    /// Moves learners of a line to another version (default: the current one) and re-evaluates
    /// them; certificates already issued keep their version.
    #[tracing::instrument(skip_all, fields(actor = %who.token_id, id = %id))]
    pub async fn migrate_line_learners(
        &self,
        who: &Principal,
        id: Uuid,
        to_version: Option<i64>,
        only: Option<Vec<Learner>>,
    ) -> ServiceResult<LineMigration> {
        let row = self.store.metro_line(id, None).await?.ok_or(ServiceError::NotFound)?;
        who.check(row.issuer_id, Action::Manage)?;
        if only.as_ref().is_some_and(|l| l.len() > crate::domain::award::MAX_RECIPIENTS) {
            return Err(crate::domain::validate::Invalid::one(
                "learners",
                crate::problem!(
                    "too-many-learners",
                    "at most {max} learners per request",
                    max = crate::domain::award::MAX_RECIPIENTS
                ),
            )
            .into());
        }
        let version = to_version.unwrap_or(row.current_version);
        if version < 1 || version > row.current_version {
            return Err(crate::domain::validate::Invalid::one(
                "to_version",
                crate::problem!(
                    "not-a-line-version",
                    "must be a version of this line (1 to {last})",
                    last = row.current_version
                ),
            )
            .into());
        }
        let learners: Vec<Learner> = match only {
            Some(l) => l,
            None => self.store.learners_of_line(id).await?,
        };
        let mut tx = self.store.begin().await?;
        for l in &learners {
            tx.migrate_learner(id, l, version).await?;
        }
        tx.enqueue_learners(&learners, "migration").await?;
        tx.audit(vec![NewEvent::new(
            &who.actor(),
            Some(row.issuer_id),
            "metro_line.learners_migrated",
            id,
            &json!({"version": version, "learners": learners.len()}),
        )])
        .await?;
        tx.commit().await?;
        let learners_migrated = learners.len();
        let issued = self.stack_after_commit(learners).await.map(|outcomes| {
            outcomes
                .into_iter()
                .filter(|o| o.metro_line == id && o.action == "issued")
                .map(|o| o.certificate)
                .collect::<Vec<_>>()
        });
        Ok(LineMigration {
            metro_line: id,
            version,
            learners_migrated,
            stacking: if issued.is_some() { Stacking::Done } else { Stacking::Background },
            issued,
        })
    }
}
