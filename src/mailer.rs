//! Delivery of e-mail through an SMTP server (`lettre`): the one module that speaks SMTP, as
//! `store` is the one that speaks SQL. The service decides what to send and when; this module
//! only turns a composed letter into a MIME message, signs it (DKIM, when configured) and hands
//! it to the server, telling a refusal for good from a failure worth retrying.

use std::time::{Duration, SystemTime};

use lettre::message::dkim::DkimSigningKey;
use lettre::message::dkim::{DkimCanonicalization, DkimCanonicalizationType, DkimConfig, DkimSigningAlgorithm};
use lettre::message::header::{HeaderName, HeaderValue};
use lettre::message::{Attachment, Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::PoolConfig;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

/// Why the mailer could not be set up (bad settings: the service refuses to start).
#[derive(Debug, thiserror::Error)]
pub enum MailerError {
    #[error("METROBADGE_SMTP_URL is not a valid smtp:// or smtps:// URL: {0}")]
    Url(String),
    #[error("METROBADGE_MAIL_FROM is not an e-mail address: {0}")]
    From(String),
    #[error("the DKIM key could not be read: {0}")]
    Dkim(String),
}

/// Why one message was not delivered.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// The server refused it for good (5xx: unknown mailbox, policy): a dead letter.
    #[error("refused: {0}")]
    Permanent(String),
    /// The server is down, busy or answered 4xx: try again later.
    #[error("not delivered for now: {0}")]
    Transient(String),
}

/// A composed message, ready to go out.
#[derive(Debug, Clone)]
pub struct InlineImage {
    pub cid: String,
    pub content_type: String,
    pub bytes: Vec<u8>,
}

pub struct Letter {
    /// Stable per outbox row: a message sent twice (a crash between sending and recording it)
    /// is recognisably the same message.
    pub message_id: String,
    pub date: SystemTime,
    /// Shown as the sender's name (the issuer's, for learners' messages).
    pub from_name: Option<String>,
    pub reply_to: Option<String>,
    pub to: String,
    pub to_name: Option<String>,
    pub subject: String,
    pub text: String,
    pub html: String,
    /// An image the HTML part shows by `cid:` (inside the message: no remote fetch, no tracking).
    pub inline_image: Option<InlineImage>,
    /// One-click unsubscribe URL (RFC 8058), for messages a learner may opt out of.
    pub unsubscribe: Option<String>,
}

/// DKIM signing settings.
pub struct Dkim {
    /// PEM (RSA, PKCS#1) or, for Ed25519, the base64 of the 32-byte private key.
    pub key: String,
    pub selector: String,
}

/// An SMTP connection pool with the sender address and the optional DKIM key.
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    dkim: Option<DkimConfig>,
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mailer").field("from", &self.from.to_string()).field("dkim", &self.dkim.is_some()).finish()
    }
}

/// The host of a base URL (`https://badges.example:8443/x` → `badges.example`): the domain of
/// the default sender address and of every Message-ID.
pub fn host_of(base_url: &str) -> &str {
    let rest = base_url.split_once("://").map(|(_, r)| r).unwrap_or(base_url);
    rest.split(['/', ':']).next().filter(|h| !h.is_empty()).unwrap_or("localhost")
}

/// How long one SMTP conversation may take before it counts as a failure worth retrying.
const SMTP_TIMEOUT: Duration = Duration::from_secs(20);

impl Mailer {
    /// `url`: `smtp://host:port` (plain, for a local relay), `smtp://…?tls=required`
    /// (STARTTLS) or `smtps://…` (TLS), with `user:password@` when the server wants a login.
    pub fn new(url: &str, from: &str, dkim: Option<Dkim>) -> Result<Mailer, MailerError> {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .map_err(|e| MailerError::Url(e.to_string()))?
            .timeout(Some(SMTP_TIMEOUT))
            .pool_config(PoolConfig::new().max_size(16))
            .build();
        let from: Mailbox =
            from.parse().map_err(|e: lettre::address::AddressError| MailerError::From(e.to_string()))?;
        let dkim = match dkim {
            None => None,
            Some(d) => {
                let algorithm = if d.key.contains("-----BEGIN") {
                    DkimSigningAlgorithm::Rsa
                } else {
                    DkimSigningAlgorithm::Ed25519
                };
                let key = DkimSigningKey::new(d.key.trim(), algorithm).map_err(|e| MailerError::Dkim(e.to_string()))?;
                // RFC 8058 §3: the List-Unsubscribe headers must be covered by the signature.
                let headers =
                    ["From", "To", "Subject", "Date", "Message-ID", "List-Unsubscribe", "List-Unsubscribe-Post"]
                        .into_iter()
                        .map(HeaderName::new_from_ascii_str)
                        .collect();
                let canonicalization = DkimCanonicalization {
                    header: DkimCanonicalizationType::Relaxed,
                    body: DkimCanonicalizationType::Relaxed,
                };
                Some(DkimConfig::new(d.selector, from.email.domain().to_string(), key, headers, canonicalization))
            }
        };
        Ok(Mailer { transport, from, dkim })
    }

    /// The MIME message for `letter` (plain text and HTML alternatives), DKIM-signed when
    /// configured.
    pub fn message(&self, letter: &Letter) -> Result<Message, SendError> {
        let bad = |what: &str, e: &dyn std::fmt::Display| SendError::Permanent(format!("{what}: {e}"));
        let to_address = letter.to.parse().map_err(|e| bad("recipient address", &e))?;
        let from = Mailbox::new(letter.from_name.clone(), self.from.email.clone());
        let mut builder = Message::builder()
            .message_id(Some(letter.message_id.clone()))
            .date(letter.date)
            .from(from)
            .to(Mailbox::new(letter.to_name.clone(), to_address))
            .subject(letter.subject.clone());
        if let Some(reply) = &letter.reply_to
            && let Ok(address) = reply.parse()
        {
            builder = builder.reply_to(Mailbox::new(None, address));
        }
        if let Some(url) = &letter.unsubscribe {
            builder = builder
                .raw_header(HeaderValue::new(HeaderName::new_from_ascii_str("List-Unsubscribe"), format!("<{url}>")))
                .raw_header(HeaderValue::new(
                    HeaderName::new_from_ascii_str("List-Unsubscribe-Post"),
                    "List-Unsubscribe=One-Click".into(),
                ));
        }
        let body = match &letter.inline_image {
            None => MultiPart::alternative_plain_html(letter.text.clone(), letter.html.clone()),
            Some(image) => {
                let content_type = image.content_type.parse().map_err(|e| bad("image type", &e))?;
                MultiPart::alternative().singlepart(SinglePart::plain(letter.text.clone())).multipart(
                    MultiPart::related()
                        .singlepart(SinglePart::html(letter.html.clone()))
                        .singlepart(Attachment::new_inline(image.cid.clone()).body(image.bytes.clone(), content_type)),
                )
            }
        };
        let mut message = builder.multipart(body).map_err(|e| bad("message", &e))?;
        if let Some(dkim) = &self.dkim {
            message.sign(dkim);
        }
        Ok(message)
    }

    /// Hands one letter to the SMTP server.
    pub async fn send(&self, letter: &Letter) -> Result<(), SendError> {
        let message = self.message(letter)?;
        match self.transport.send(message).await {
            Ok(_) => Ok(()),
            Err(e) if e.is_permanent() => Err(SendError::Permanent(e.to_string())),
            Err(e) => Err(SendError::Transient(e.to_string())),
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn host_of_a_base_url() {
        assert_eq!(super::host_of("https://badges.example:8443/x"), "badges.example");
        assert_eq!(super::host_of("http://127.0.0.1:8080"), "127.0.0.1");
        assert_eq!(super::host_of(""), "localhost");
    }
}
