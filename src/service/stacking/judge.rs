//! Judging one locked learner on every line, and issuing the certificates the verdicts ask for.

use super::*;
use crate::service::issuance::Holder;
use crate::service::mail::compose::Notice;

impl Service {
    /// Judges one learner on every line from `rows`, collecting into `round` the status changes,
    /// certificates, events and outcomes it decides; nothing is written here. A round applies
    /// them in its transaction, judging again on rows read after the learner's lock; a
    /// speculative round judges on rows read before it, to sign early what it will likely issue.
    #[tracing::instrument(skip_all)]
    pub(super) fn judge(
        &self,
        who: &Learner,
        rows: LearnerRows,
        lines: &[(MetroLineRow, MetroLineSpec)],
        prepared: &Prepared,
        now: OffsetDateTime,
        round: &mut Round,
    ) -> ServiceResult<()> {
        let LearnerRows { credentials: creds, certificates: certs, components, enrolments, jobs } = rows;
        let (held, names) = held_badges(&creds, now, &mut round.modules)?;
        let actor = Actor::service();
        // Set when the learner changed between preparing and locking: judged again next round.
        let mut again = false;
        for (line, current) in lines {
            let Position { version, certificate: standing_cert, enrolled, started } =
                position(line, current, &held, &certs, &enrolments);
            if !started {
                continue;
            }
            let (Some(spec), Some(signer)) =
                (prepared.specs.get(&(line.metro_line_id, version)), prepared.issuers.get(&line.issuer_id))
            else {
                again = true;
                continue;
            };
            if enrolled.is_none() {
                round.enrolments.push((line.metro_line_id, who.clone(), version));
            }
            let held_cert = standing_cert.map(|c| HeldCertificate {
                credential: c.credential_id,
                version: c.metro_line_version,
                suspended: c.suspended_at.is_some(),
                suspended_by_cascade: c.suspended_at.is_some() && c.status_cause.as_deref() == Some("cascade"),
                components: components
                    .iter()
                    .filter(|k| k.certificate_id == c.credential_id)
                    .map(|k| k.component_id)
                    .collect(),
            });
            // A certificate a person revoked is not silently issued again.
            let blocked = certs.iter().any(|c| {
                c.metro_line_id == line.metro_line_id
                    && c.metro_line_version == version
                    && c.revoked_at.is_some()
                    && c.status_cause.as_deref() != Some("cascade")
            });
            // A new certificate rests only on the line issuer's own badges and those of partners
            // that consent now; one already standing keeps being judged on everything it holds
            // (ending a partnership leaves issued certificates valid).
            let counting: Vec<Held>;
            let held_here = if held_cert.is_some() {
                &held
            } else {
                let partners = prepared.partners.get(&line.issuer_id);
                counting = held
                    .iter()
                    .filter(|h| h.issuer == line.issuer_id || partners.is_some_and(|p| p.contains(&h.issuer)))
                    .cloned()
                    .collect();
                &counting
            };
            let (decision, _) = decide(&spec.effective_rule(), held_here, &names, held_cert.as_ref(), blocked);
            let url = |id: Uuid| self.credential_url(id);
            let Some(achievement) = prepared.achievements.get(&(line.metro_line_id, version)) else {
                again = true;
                continue;
            };
            let certificate_of_line = Certificate { line, version, spec };
            let (action, change, certificate, causes, successor) = match decision {
                Decision::Nothing => continue,
                Decision::Issue { components } => {
                    let id = round.certificate_id(who, line.metro_line_id, version);
                    self.plan_certificate(&certificate_of_line, who, &creds, &components, id, round)?;
                    continue;
                }
                Decision::Suspend { certificate, causes } => {
                    ("suspended", StatusChange::Suspend, certificate, causes, None)
                }
                Decision::Revoke { certificate, causes } => {
                    ("revoked", StatusChange::Revoke, certificate, causes, None)
                }
                Decision::Reinstate { certificate } => {
                    ("reinstated", StatusChange::Reinstate, certificate, vec![], None)
                }
                // The old certificate is revoked first (one standing certificate per line), naming
                // the id its successor is issued under right after.
                Decision::Supersede { certificate, causes, components } => {
                    let successor = round.certificate_id(who, line.metro_line_id, version);
                    ("superseded", StatusChange::Revoke, certificate, causes, Some((successor, components)))
                }
            };
            let reason = match &successor {
                Some((new, _)) => Some(format!("superseded by {}", url(*new))),
                None => (change != StatusChange::Reinstate).then(|| cause_words(&held, &causes, &names, url)),
            };
            round.changes.push((certificate, change, reason.clone()));
            round.events.push(NewEvent::new(
                &actor,
                Some(line.issuer_id),
                change.action(),
                certificate,
                &json!({"reason": reason, "cascade": true, "metro_line_id": line.metro_line_id,
                        "superseded_by": successor.as_ref().map(|s| s.0)}),
            ));
            // The chain names each component that caused the change in clear (its id is no
            // personal data), right after the change itself.
            for component in causes {
                round.events.push(NewEvent::new(
                    &actor,
                    Some(line.issuer_id),
                    "cascade.component",
                    component,
                    &json!({"certificate": certificate, "effect": action}),
                ));
            }
            round.outcomes.push(StackOutcome {
                metro_line: line.metro_line_id,
                issuer: line.issuer_id,
                version,
                action,
                certificate: url(certificate),
                certificate_id: certificate,
            });
            // A superseded certificate is followed by its successor's message instead.
            if successor.is_none() {
                let name = achievement["name"].as_str().unwrap_or_default().to_string();
                let notice = |issuer: String| Notice::StatusChanged {
                    credential: url(certificate),
                    name,
                    issuer,
                    change: change.word().into(),
                    reason: reason.clone(),
                };
                round.mail.extend(certificate_mail(signer, line.issuer_id, who, certificate, notice));
            }
            if let Some((id, components)) = successor {
                self.plan_certificate(&certificate_of_line, who, &creds, &components, id, round)?;
            }
        }
        round.jobs.extend(jobs);
        if again {
            round.again.push(who.clone());
        }
        Ok(())
    }

    /// Notes a certificate to issue under `id`: what it rests on and who it is for. It is
    /// built, signed and stored with the round's others in [`Service::issue_planned`].
    fn plan_certificate(
        &self,
        c: &Certificate<'_>,
        who: &Learner,
        creds: &[HolderCredential],
        component_ids: &[Uuid],
        id: Uuid,
        round: &mut Round,
    ) -> ServiceResult<()> {
        let parts: Vec<&HolderCredential> =
            component_ids.iter().filter_map(|id| creds.iter().find(|c| c.credential_id == *id)).collect();
        let mut hours = 0.0;
        let mut components = Vec::with_capacity(parts.len());
        for c in &parts {
            let module = round.modules.of(c)?;
            hours += module.hours;
            components.push(Component {
                url: self.credential_url(c.credential_id),
                name: module.name.clone(),
                awarded: rfc3339(c.valid_from)[..10].to_string(),
                sha256_hex: c.sha256.clone(),
            });
        }
        let credits = c.spec.certificate.as_ref().and_then(|c| c.credits).unwrap_or((hours * 100.0).round() / 100.0);
        let kind = IdentityType::parse(&who.identity_type)
            .ok_or_else(|| ServiceError::Internal("stored identity type is unknown".into()))?;
        let recipient = Recipient {
            identity: who.identity.clone(),
            identity_type: kind,
            name: parts.iter().rev().find_map(|c| c.recipient_name.clone()),
            evidence: vec![],
            result: None,
            narrative: None,
            retake: false,
            language: None,
            manager: None,
        };
        round.planned.push(Planned {
            id,
            who: who.clone(),
            line: c.line.metro_line_id,
            issuer: c.line.issuer_id,
            version: c.version,
            components,
            component_ids: component_ids.to_vec(),
            credits,
            recipient,
        });
        Ok(())
    }

    /// Builds and signs certificates for `planned` (all of one issuer, `signer`) into `slots`
    /// (one each, in order), together over the cores.
    #[tracing::instrument(skip_all, fields(certificates = planned.len()))]
    pub(super) async fn sign_certificates(
        &self,
        planned: &[&Planned],
        slots: &[(Uuid, i64)],
        signer: &Signer,
        prepared: &Prepared,
        now: OffsetDateTime,
    ) -> ServiceResult<Vec<crate::store::NewCredential>> {
        // Every planned certificate's achievement is there (prepared before the round).
        if let Some(p) = planned.iter().find(|p| !prepared.achievements.contains_key(&(p.line, p.version))) {
            return Err(ServiceError::Internal(format!("line {} version {} was not prepared", p.line, p.version)));
        }
        let now = crate::domain::time::whole_seconds(now);
        let valid_from = rfc3339(now);
        let holders = planned
            .iter()
            .map(|p| Holder { id: p.id, learner: p.who.clone(), name: p.recipient.name.clone() })
            .collect();
        self.issue_batch(holders, slots, signer.signing.clone(), (now, None), |s| {
            let p = planned[s.index];
            let template = Template {
                issuer: &signer.profile,
                achievement: &prepared.achievements[&(p.line, p.version)],
                valid_from: &valid_from,
                valid_until: None,
                session_date: None,
                hours: p.credits,
            };
            certificate::build(&template, s.url, &p.recipient, s.salt, s.status, &p.components)
        })
        .await
    }

    /// Stores the round's planned certificates. One signed before the lock (`early`) is used
    /// when its plan is the same and its status slot is still free; the others get slots
    /// reserved now and are built and signed here. Each is stored with its audit event,
    /// outcome and message. Returns how many were signed early and how many here.
    #[tracing::instrument(skip_all)]
    pub(super) async fn issue_planned(
        &self,
        tx: &mut Tx,
        prepared: &Prepared,
        now: OffsetDateTime,
        round: &mut Round,
        early: &mut HashMap<Uuid, Early>,
    ) -> ServiceResult<(usize, usize)> {
        let planned = std::mem::take(&mut round.planned);
        let valid_from = rfc3339(crate::domain::time::whole_seconds(now));
        let by_issuer = Planned::by_issuer(planned);
        let (mut signed_early, mut signed_late) = (0, 0);
        for (issuer, planned) in by_issuer {
            let signer = prepared.issuers.get(&issuer).ok_or(ServiceError::NotFound)?;
            let mut credentials: Vec<Option<crate::store::NewCredential>> = planned.iter().map(|_| None).collect();
            let fits: Vec<(usize, Early)> = planned
                .iter()
                .enumerate()
                .filter_map(|(i, p)| early.remove(&p.id).filter(|e| e.plan == *p).map(|e| (i, e)))
                .collect();
            let slots: Vec<(Uuid, i64)> = fits.iter().map(|(_, e)| e.slot).collect();
            let free = tx.claim_status_indices(&slots).await?;
            for ((i, e), free) in fits.into_iter().zip(free) {
                if free {
                    credentials[i] = Some(e.credential);
                    signed_early += 1;
                }
            }
            let late: Vec<usize> = (0..planned.len()).filter(|i| credentials[*i].is_none()).collect();
            if !late.is_empty() {
                let slots = tx.reserve_status_indices(issuer, late.len()).await?;
                let plans: Vec<&Planned> = late.iter().map(|i| &planned[*i]).collect();
                let signed = self.sign_certificates(&plans, &slots, signer, prepared, now).await?;
                signed_late += signed.len();
                for (i, c) in late.into_iter().zip(signed) {
                    credentials[i] = Some(c);
                }
            }
            // Each learner's progress page with the line's issuer, for the message.
            let learners: Vec<Learner> = planned.iter().map(|p| p.who.clone()).collect();
            let links = tx.active_progress_links(issuer, &learners).await?;
            let link_keys = if links.is_empty() { None } else { Some(self.link_keys().await?) };
            let credentials: Vec<crate::store::NewCredential> = credentials
                .into_iter()
                .collect::<Option<_>>()
                .ok_or_else(|| ServiceError::Internal("a planned certificate was not signed".into()))?;
            let issuer_name = signer.profile["name"].as_str().unwrap_or_default().to_string();
            let mut stored = Vec::with_capacity(credentials.len());
            for (p, credential) in planned.into_iter().zip(credentials) {
                let digest = credential.sha256.clone();
                stored.push(NewCertificate {
                    credential,
                    issuer_id: issuer,
                    metro_line_id: p.line,
                    metro_line_version: p.version,
                    key_id: signer.signing.key_id,
                    components: p.component_ids,
                });
                let url = self.credential_url(p.id);
                let achievement = &prepared.achievements[&(p.line, p.version)];
                let name = achievement["name"].as_str().unwrap_or_default().to_string();
                let share = json!({"credentialSubject": {"achievement": {"name": name}}, "issuer": {"name": issuer_name},
                                   "validFrom": valid_from});
                let notice = |issuer: String| Notice::CertificateEarned {
                    linkedin: crate::credential::share::linkedin_add_url(&share, &url, &p.id.to_string()),
                    credential: url.clone(),
                    name,
                    issuer,
                    artwork: None,
                    progress: links
                        .get(&p.who)
                        .zip(link_keys.as_ref())
                        .map(|(link, keys)| self.progress_url(&keys.token_of(link))),
                };
                round.mail.extend(certificate_mail(signer, issuer, &p.who, p.id, notice));
                // Like `credential.issued`: the digest is the SHA-256 of the signed document,
                // which itself names every component and its digest.
                let mut e = NewEvent::new(&Actor::service(), Some(issuer), "certificate.issued", p.id, &json!({}));
                e.change_digest = digest;
                round.events.push(e);
                round.outcomes.push(StackOutcome {
                    metro_line: p.line,
                    issuer,
                    version: p.version,
                    action: "issued",
                    certificate: url,
                    certificate_id: p.id,
                });
            }
            tx.insert_certificates(stored).await?;
        }
        Ok((signed_early, signed_late))
    }
}

/// The message to a learner with an e-mail address about one of their certificates, from its
/// issuer, in the issuer's language (no award named another).
fn certificate_mail(
    signer: &Signer,
    issuer_id: Uuid,
    who: &Learner,
    certificate: Uuid,
    notice: impl FnOnce(String) -> Notice,
) -> Option<crate::service::mail::Outgoing> {
    if who.identity_type != IdentityType::EmailAddress.as_str() {
        return None;
    }
    let issuer = signer.profile["name"].as_str().unwrap_or_default().to_string();
    Some(crate::service::mail::Outgoing {
        issuer: Some(issuer_id),
        to: who.identity.clone(),
        to_name: None,
        lang: signer.lang,
        learner: Some(who.clone()),
        subject_id: Some(certificate.to_string()),
        from_name: Some(issuer.clone()),
        reply_to: signer.email.clone(),
        notice: notice(issuer),
    })
}
