//! The stacking queue and its drain: learners judged now or by the worker, a batch per
//! transaction.

use super::*;

impl Service {
    /// Drains the given learners now (up to [`INLINE_LEARNERS`]; returns what happened) or in
    /// a background task (more; returns `None`); the queue rows make either survive a crash.
    pub(in crate::service) async fn stack_after_commit(&self, learners: Vec<Learner>) -> Option<Vec<StackOutcome>> {
        if learners.len() > INLINE_LEARNERS {
            let service = self.clone();
            tokio::spawn(async move {
                service.restack_many(&learners).await;
            });
            return None;
        }
        Some(self.restack_many(&learners).await)
    }

    /// Drains `learners` a batch per transaction, pipelined: while one batch holds its
    /// transaction (on SQLite the only write lock), the next is read, judged and its
    /// certificates signed ([`Service::speculate`]). A batch that fails is retried learner by
    /// learner, so one learner whose round fails holds up nobody else (and waits for a later
    /// round itself).
    #[tracing::instrument(skip_all)]
    pub(super) async fn restack_many(&self, learners: &[Learner]) -> Vec<StackOutcome> {
        let mut out = Vec::new();
        let mut batches = learners.chunks(BATCH_LEARNERS);
        let mut ahead = match batches.next() {
            Some(b) => Some((b, self.speculate(b).await)),
            None => None,
        };
        while let Some((batch, speculation)) = ahead.take() {
            let following = batches.next();
            let settle = async {
                match speculation {
                    Ok(s) => self.settle(s).await.map(|s| s.outcomes),
                    Err(e) => Err(e),
                }
            };
            let look_ahead = async {
                match following {
                    Some(b) => Some((b, self.speculate(b).await)),
                    None => None,
                }
            };
            let (settled, next) = tokio::join!(settle, look_ahead);
            match settled {
                Ok(done) => out.extend(done),
                Err(e) => {
                    tracing::warn!(error = %e, learners = batch.len(), "stacking batch failed; judging one by one");
                    for l in batch {
                        out.extend(self.restack_or_postpone(l).await);
                    }
                }
            }
            ahead = next;
        }
        out
    }

    async fn restack_or_postpone(&self, who: &Learner) -> Vec<StackOutcome> {
        match self.restack(who).await {
            Ok(done) => done,
            Err(e) => {
                tracing::warn!(error = %e, "stacking failed; the learner stays queued");
                let _ = self.store.postpone_learner(who, self.now() + RETRY_AFTER).await;
                Vec::new()
            }
        }
    }

    /// One round of the worker: queue learners whose certificate components expired since
    /// `since`, then drain everything due. Returns how many learners were handled.
    #[tracing::instrument(skip_all)]
    pub async fn stack_tick(&self, since: OffsetDateTime) -> ServiceResult<usize> {
        let now = self.now();
        let expired = self.store.expired_component_holders(since, now).await?;
        if !expired.is_empty() {
            let mut tx = self.store.begin().await?;
            tx.enqueue_learners(&expired, "expiry").await?;
            tx.commit().await?;
        }
        // Everything queued until now, including what was just queued; work queued while this
        // round runs waits for the next one, so a round always ends.
        let cutoff = self.now();
        let mut handled = 0;
        loop {
            let due = self.store.due_learners(cutoff, 100).await?;
            if due.is_empty() {
                break;
            }
            self.restack_many(&due).await;
            handled += due.len();
            if due.len() < 100 {
                break;
            }
        }
        Ok(handled)
    }

    /// Adds to `p` what judging a learner with these `facts` may need (line versions,
    /// achievements, signers) for every line they are on; what `p` already holds is not read again.
    async fn prepare(
        &self,
        facts: &LearnerFacts,
        lines: &[(MetroLineRow, MetroLineSpec)],
        p: &mut Prepared,
    ) -> ServiceResult<()> {
        for (line, current) in lines {
            let mut versions = vec![line.current_version];
            versions.extend(
                facts.certs.iter().filter(|c| c.metro_line_id == line.metro_line_id).map(|c| c.metro_line_version),
            );
            versions
                .extend(facts.enrolments.iter().filter(|e| e.metro_line_id == line.metro_line_id).map(|e| e.version));
            let started = facts.held.iter().any(|h| current.stations.contains(&h.nanomodule));
            if versions.len() == 1 && !started {
                continue;
            }
            p.specs.entry((line.metro_line_id, line.version)).or_insert_with(|| current.clone());
            for v in versions {
                let key = (line.metro_line_id, v);
                if let std::collections::hash_map::Entry::Vacant(e) = p.specs.entry(key) {
                    let row =
                        self.store.metro_line(line.metro_line_id, Some(v)).await?.ok_or(ServiceError::NotFound)?;
                    e.insert(decode_spec(&row.spec)?);
                }
                if let std::collections::hash_map::Entry::Vacant(e) = p.achievements.entry(key) {
                    e.insert(self.certificate_achievement(line.metro_line_id, v).await?);
                }
            }
            if let std::collections::hash_map::Entry::Vacant(e) = p.partners.entry(line.issuer_id) {
                e.insert(self.store.accepted_partners(line.issuer_id).await?.into_iter().collect());
            }
            if let std::collections::hash_map::Entry::Vacant(e) = p.issuers.entry(line.issuer_id) {
                let url = ob3::issuer_url(&self.base_url, line.issuer_id);
                let spec = self.issuer_spec(line.issuer_id).await?;
                let profile = ob3::profile(&url, &spec);
                let signing = self.issuer_signing(line.issuer_id).await?;
                e.insert(Signer { profile, signing, lang: spec.lang(), email: spec.email.clone() });
            }
        }
        Ok(())
    }

    /// Re-evaluates one learner on every line, in one transaction.
    #[tracing::instrument(skip_all)]
    pub async fn restack(&self, who: &Learner) -> ServiceResult<Vec<StackOutcome>> {
        self.restack_batch(std::slice::from_ref(who)).await
    }

    /// Re-evaluates several learners on every line in one transaction: [`Service::speculate`]
    /// then [`Service::settle`]. All or nothing: callers retry a failed batch one learner at a
    /// time.
    #[tracing::instrument(skip_all)]
    pub async fn restack_batch(&self, learners: &[Learner]) -> ServiceResult<Vec<StackOutcome>> {
        let speculation = self.speculate(learners).await?;
        Ok(self.settle(speculation).await?.outcomes)
    }

    /// Reads and judges `learners` without a lock and signs the certificates that judgement
    /// would issue, each into a status slot that looks free (see [`Speculation`]). Shares the
    /// reads of lines, achievements and signing keys across the batch. Writes nothing.
    #[tracing::instrument(skip_all, fields(learners = learners.len()))]
    pub async fn speculate(&self, learners: &[Learner]) -> ServiceResult<Speculation> {
        let mut learners = learners.to_vec();
        learners.sort();
        learners.dedup();
        let now = self.now();
        // Every line with its current version decoded once for the batch.
        let lines: Vec<(MetroLineRow, MetroLineSpec)> = self
            .store
            .all_metro_lines()
            .await?
            .into_iter()
            .map(|l| decode_spec(&l.spec).map(|spec| (l, spec)))
            .collect::<ServiceResult<_>>()?;
        let mut prepared = Prepared::default();
        let mut round = Round::default();
        for (who, rows) in self.store.learners_rows(&learners).await? {
            self.prepare(&LearnerFacts::of(&rows, now, &mut round.modules)?, &lines, &mut prepared).await?;
            self.judge(&who, rows, &lines, &prepared, now, &mut round)?;
        }
        let mut early = HashMap::new();
        for (issuer, plans) in Planned::by_issuer(std::mem::take(&mut round.planned)) {
            let Some(signer) = prepared.issuers.get(&issuer) else { continue };
            let slots = self.store.draw_status_slots(issuer, plans.len()).await?;
            let plans: Vec<Planned> = plans.into_iter().take(slots.len()).collect();
            let refs: Vec<&Planned> = plans.iter().collect();
            let signed = self.sign_certificates(&refs, &slots, signer, &prepared, now).await?;
            for ((plan, slot), credential) in plans.into_iter().zip(slots).zip(signed) {
                early.insert(plan.id, Early { plan, slot, credential });
            }
        }
        let mail_keys = self.mail_keys().await?;
        Ok(Speculation { learners, lines, prepared, now, mail_keys, ids: round.ids, modules: round.modules, early })
    }

    /// Applies a batch in one transaction: locks its learners, reads their rows again, judges
    /// them on what is current and writes the verdicts, certificates (those signed early where
    /// the plan and slot still hold), audit events and messages, and deletes their jobs. On
    /// SQLite most of a learner's round is the commit's sync to disk, so a batch shares one.
    #[tracing::instrument(skip_all, fields(learners = speculation.learners.len()))]
    pub async fn settle(&self, speculation: Speculation) -> ServiceResult<Settled> {
        let started = std::time::Instant::now();
        let Speculation { learners, lines, prepared, now, mail_keys, ids, modules, mut early } = speculation;
        let mut round = Round { ids, modules, ..Round::default() };
        let mut tx = self.store.begin().await?;
        tx.lock_learners(&learners).await?;
        let mut rows = tx.learners_rows(&learners).await?;
        for who in &learners {
            let mine = rows.remove(who).unwrap_or_default();
            self.judge(who, mine, &lines, &prepared, now, &mut round)?;
        }
        for (certificate, change, reason) in std::mem::take(&mut round.changes) {
            tx.change_status(certificate, change, reason.as_deref(), Some("cascade"), now).await?;
        }
        if !round.again.is_empty() {
            tx.enqueue_learners(&round.again, "changed while judged").await?;
        }
        tx.enrol(std::mem::take(&mut round.enrolments)).await?;
        let (signed_early, signed_late) = self.issue_planned(&mut tx, &prepared, now, &mut round, &mut early).await?;
        tx.delete_jobs(&round.jobs).await?;
        let Round { events, outcomes, mail, .. } = round;
        if !events.is_empty() {
            tx.audit(events).await?;
        }
        let queued = self.queue_mail(&mut tx, &mail_keys, mail).await?;
        let judged_at = started.elapsed();
        tx.commit().await?;
        if queued > 0 {
            self.wake_mail();
        }
        tracing::debug!(
            learners = learners.len(),
            signed_early,
            signed_late,
            judge_ms = judged_at.as_millis() as u64,
            commit_ms = (started.elapsed() - judged_at).as_millis() as u64,
            "stacking batch"
        );
        for o in &outcomes {
            tracing::info!(metro_line = %o.metro_line, version = o.version, action = o.action, certificate = %o.certificate_id, "stacking");
        }
        Ok(Settled { outcomes, signed_early, signed_late })
    }
}
