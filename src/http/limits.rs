//! Abuse limits at the edge: who the client is (the peer address, or a trusted proxy's
//! `X-Forwarded-For`), per-client rates for public verification and for failed sign-ins with a
//! bearer token, and a global cap on requests in flight. Excess is `429` problem+json with
//! `Retry-After`.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, Request, State};
use axum::http::HeaderMap;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use tokio::sync::Semaphore;

use super::ApiError;

/// The limits an operator sets (README "Configuration").
#[derive(Debug, Clone)]
pub struct Limits {
    /// `POST /verify` requests per minute per client.
    pub verify_per_minute: u32,
    /// OAuth client registrations (`POST /ims/ob/v3p0/oauth/register`) per hour per client:
    /// registration needs no account, so this is what stops one client filling the table.
    pub registrations_per_hour: u32,
    /// Failed bearer-token attempts per minute per client before it is locked out for a minute.
    pub auth_failures_per_minute: u32,
    /// Requests in flight at once, all clients together (health checks aside).
    pub max_concurrent_requests: usize,
    /// Proxies whose `X-Forwarded-For` names the client; from anyone else the header is ignored.
    pub trusted_proxies: Vec<IpAddr>,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            verify_per_minute: 600,
            registrations_per_hour: 20,
            auth_failures_per_minute: 20,
            max_concurrent_requests: 1024,
            trusted_proxies: Vec::new(),
        }
    }
}

/// How long a client that used up its failed attempts waits.
const LOCKOUT: Duration = Duration::from_secs(60);
/// Most clients remembered as locked out: when full, expired lockouts are dropped, and if it is
/// still full a new lockout is not remembered (its exceeding attempt is still answered 429).
const MAX_LOCKED: usize = 100_000;
/// Every this many checks, limiter state of clients that have been quiet is forgotten, so
/// memory does not grow with the number of addresses ever seen.
const PRUNE_EVERY: u64 = 10_000;

/// The limiters, shared by every request.
pub struct Guards {
    verify: DefaultKeyedRateLimiter<IpAddr>,
    registrations: DefaultKeyedRateLimiter<IpAddr>,
    auth_failures: DefaultKeyedRateLimiter<IpAddr>,
    locked: Mutex<HashMap<IpAddr, Instant>>,
    in_flight: Arc<Semaphore>,
    trusted: Vec<IpAddr>,
    checks: std::sync::atomic::AtomicU64,
}

fn per_minute(n: u32) -> Quota {
    Quota::per_minute(NonZeroU32::new(n.max(1)).expect("at least one"))
}

impl Guards {
    pub fn new(limits: &Limits) -> Guards {
        Guards {
            verify: RateLimiter::keyed(per_minute(limits.verify_per_minute)),
            registrations: RateLimiter::keyed(Quota::per_hour(
                NonZeroU32::new(limits.registrations_per_hour.max(1)).expect("at least one"),
            )),
            auth_failures: RateLimiter::keyed(per_minute(limits.auth_failures_per_minute)),
            locked: Mutex::new(HashMap::new()),
            in_flight: Arc::new(Semaphore::new(limits.max_concurrent_requests.max(1))),
            trusted: limits.trusted_proxies.clone(),
            checks: std::sync::atomic::AtomicU64::new(0),
        }
    }

    fn maybe_prune(&self) {
        if self.checks.fetch_add(1, std::sync::atomic::Ordering::Relaxed) % PRUNE_EVERY == PRUNE_EVERY - 1 {
            self.verify.retain_recent();
            self.verify.shrink_to_fit();
            self.registrations.retain_recent();
            self.registrations.shrink_to_fit();
            self.auth_failures.retain_recent();
            self.auth_failures.shrink_to_fit();
        }
    }

    /// The client: the peer address, unless the peer is a trusted proxy, then the nearest
    /// address in `X-Forwarded-For` that is not itself a trusted proxy.
    pub fn client(&self, peer: Option<IpAddr>, headers: &HeaderMap) -> Option<IpAddr> {
        let peer = peer?;
        if !self.trusted.contains(&peer) {
            return Some(peer);
        }
        let forwarded = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .filter_map(|a| a.trim().parse::<IpAddr>().ok())
            .collect::<Vec<_>>();
        Some(forwarded.into_iter().rev().find(|a| !self.trusted.contains(a)).unwrap_or(peer))
    }

    /// Counts one `POST /verify` of `client`.
    pub fn verify_allowed(&self, client: IpAddr) -> Result<(), ApiError> {
        self.maybe_prune();
        self.verify.check_key(&client).map_err(|not_until| {
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            too_many("too many verification requests from this client", wait)
        })
    }

    /// Refuses a client locked out after too many failed attempts.
    pub fn check_not_locked(&self, client: IpAddr) -> Result<(), ApiError> {
        let mut locked = self.locked.lock().unwrap_or_else(|p| p.into_inner());
        match locked.get(&client) {
            Some(until) if *until > Instant::now() => {
                Err(too_many("too many failed sign-in attempts from this client", *until - Instant::now()))
            }
            Some(_) => {
                locked.remove(&client);
                Ok(())
            }
            None => Ok(()),
        }
    }

    /// Records a failed attempt; the one that exceeds the quota locks the client out.
    pub fn failed_attempt(&self, client: IpAddr) -> Result<(), ApiError> {
        self.maybe_prune();
        if self.auth_failures.check_key(&client).is_ok() {
            return Ok(());
        }
        let mut locked = self.locked.lock().unwrap_or_else(|p| p.into_inner());
        if locked.len() >= MAX_LOCKED {
            let now = Instant::now();
            locked.retain(|_, until| *until > now);
        }
        if locked.len() < MAX_LOCKED {
            locked.insert(client, Instant::now() + LOCKOUT);
        }
        Err(too_many("too many failed sign-in attempts from this client", LOCKOUT))
    }
}

pub(crate) fn too_many(detail: &str, wait: Duration) -> ApiError {
    ApiError::TooManyRequests { detail: detail.into(), retry_after: wait.as_secs().max(1) }
}

/// The peer address axum recorded for the connection, if served with connection info.
pub fn peer(extensions: &axum::http::Extensions) -> Option<IpAddr> {
    extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip())
}

/// The global cap: a request that finds every slot taken is answered 429 at once. Health
/// checks are exempt, so an orchestrator never restarts a busy instance.
pub async fn cap_in_flight(State(guards): State<Arc<Guards>>, req: Request, next: Next) -> Response {
    if req.uri().path().starts_with("/health") {
        return next.run(req).await;
    }
    match guards.in_flight.clone().try_acquire_owned() {
        Ok(_permit) => next.run(req).await,
        Err(_) => {
            too_many("the service is at its limit of concurrent requests", Duration::from_secs(1)).into_response()
        }
    }
}

/// Per-client rate of OAuth client registrations.
pub async fn limit_registrations(State(guards): State<Arc<Guards>>, req: Request, next: Next) -> Response {
    if let Some(client) = guards.client(peer(req.extensions()), req.headers()) {
        guards.maybe_prune();
        if let Err(not_until) = guards.registrations.check_key(&client) {
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            return too_many("too many client registrations from this client", wait).into_response();
        }
    }
    next.run(req).await
}

/// Per-client rate of `POST /verify`.
pub async fn limit_verify(State(guards): State<Arc<Guards>>, req: Request, next: Next) -> Response {
    if req.method() == axum::http::Method::POST
        && let Some(client) = guards.client(peer(req.extensions()), req.headers())
        && let Err(e) = guards.verify_allowed(client)
    {
        return e.into_response();
    }
    next.run(req).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forwarded_for_counts_only_from_trusted_proxies() {
        let proxy: IpAddr = "10.0.0.1".parse().unwrap();
        let g = Guards::new(&Limits { trusted_proxies: vec![proxy], ..Limits::default() });
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-for", "203.0.113.9, 198.51.100.7".parse().unwrap());
        let stranger: IpAddr = "192.0.2.5".parse().unwrap();
        assert_eq!(g.client(Some(stranger), &h), Some(stranger), "a spoofed header from anyone else is ignored");
        assert_eq!(g.client(Some(proxy), &h), Some("198.51.100.7".parse().unwrap()), "the proxy's nearest client");
        assert_eq!(g.client(Some(proxy), &HeaderMap::new()), Some(proxy));
    }

    #[test]
    fn failed_attempts_lock_out_one_client() {
        let g = Guards::new(&Limits { auth_failures_per_minute: 3, ..Limits::default() });
        let (a, b): (IpAddr, IpAddr) = ("192.0.2.1".parse().unwrap(), "192.0.2.2".parse().unwrap());
        for _ in 0..3 {
            g.failed_attempt(a).unwrap();
        }
        assert!(g.failed_attempt(a).is_err());
        assert!(g.check_not_locked(a).is_err());
        assert!(g.check_not_locked(b).is_ok());
    }
}
