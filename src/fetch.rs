//! Fetching other issuers' public documents (DID documents, key documents, status lists) for
//! verification — only when an operator allows it, and never from where an attacker could aim
//! us at: HTTPS only, no private, loopback, link-local or otherwise special addresses (checked on
//! the addresses actually connected to, so DNS rebinding cannot slip past), bounded size and
//! time, redirects re-checked.
//!
//! This is the only module that talks to other web sites.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

/// Largest document fetched (a DID document or a 131 072-entry status list is far smaller).
pub const MAX_BYTES: usize = 256 * 1024;
/// Whole request, connection included.
pub const TIMEOUT: Duration = Duration::from_secs(5);
/// Redirects followed (each one checked like the first URL).
pub const MAX_REDIRECTS: usize = 3;

/// What an operator allows (`METROBADGE_VERIFY_FETCH`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum FetchMode {
    /// Nothing is fetched (the default): other issuers' keys are "could not check".
    #[default]
    Off,
    /// Only these hosts (exact, or `*.example.org` for its subdomains).
    Allowlist(Vec<String>),
    /// Any public HTTPS host.
    On,
}

impl FetchMode {
    /// `off`, `on` or `allowlist` with its hosts.
    pub fn parse(mode: &str, allow: &[String]) -> Result<FetchMode, String> {
        match mode.trim() {
            "off" | "" => Ok(FetchMode::Off),
            "on" => Ok(FetchMode::On),
            "allowlist" if allow.iter().any(|h| !h.trim().is_empty()) => Ok(FetchMode::Allowlist(
                allow.iter().map(|h| h.trim().to_ascii_lowercase()).filter(|h| !h.is_empty()).collect(),
            )),
            "allowlist" => Err("METROBADGE_VERIFY_FETCH=allowlist needs METROBADGE_VERIFY_FETCH_ALLOW (hosts)".into()),
            other => Err(format!("METROBADGE_VERIFY_FETCH must be off, allowlist or on, not '{other}'")),
        }
    }

    /// Why `host` may not be fetched from, or `None` when it may.
    pub fn refuses(&self, host: &str) -> Option<String> {
        let host = host.to_ascii_lowercase();
        match self {
            FetchMode::Off => Some("fetching other sites is off (METROBADGE_VERIFY_FETCH)".into()),
            FetchMode::On => None,
            FetchMode::Allowlist(hosts) => {
                let listed = hosts.iter().any(|h| match h.strip_prefix("*.") {
                    Some(suffix) => host.ends_with(&format!(".{suffix}")),
                    None => *h == host,
                });
                (!listed).then(|| format!("{host} is not on the fetch allowlist (METROBADGE_VERIFY_FETCH_ALLOW)"))
            }
        }
    }
}

/// The operator's fetch settings.
#[derive(Debug, Clone, Default)]
pub struct FetchPolicy {
    pub mode: FetchMode,
    /// Answer only from stored copies, never from the network (`METROBADGE_VERIFY_OFFLINE`).
    pub offline: bool,
    /// Extra root certificates (PEM), for issuers behind a private CA.
    pub extra_roots_pem: Option<Vec<u8>>,
    /// Lets tests reach a server on this machine. Not settable from configuration: production
    /// never connects to private, loopback or link-local addresses.
    pub allow_private_addresses: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("{0}")]
    Refused(String),
    #[error("could not fetch {url}: {why}")]
    Failed { url: String, why: String },
}

/// A fetched document.
#[derive(Debug, Clone)]
pub struct Fetched {
    pub body: Vec<u8>,
    /// `max-age` of `Cache-Control`, if the server gave one.
    pub max_age: Option<u64>,
}

/// The HTTP client for verification fetches; cheap to clone.
#[derive(Clone)]
pub struct Fetcher {
    policy: Arc<FetchPolicy>,
    client: reqwest::Client,
}

impl std::fmt::Debug for Fetcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fetcher").field("policy", &self.policy.mode).finish()
    }
}

impl Fetcher {
    pub fn new(policy: FetchPolicy) -> Result<Fetcher, String> {
        let allow_private = policy.allow_private_addresses;
        let redirect_mode = policy.mode.clone();
        let redirects = reqwest::redirect::Policy::custom(move |attempt| {
            if attempt.previous().len() >= MAX_REDIRECTS {
                return attempt.error(format!("more than {MAX_REDIRECTS} redirects"));
            }
            match check_url(attempt.url(), &redirect_mode, allow_private) {
                Ok(()) => attempt.follow(),
                Err(why) => attempt.error(why),
            }
        });
        let mut builder = reqwest::Client::builder()
            .https_only(!allow_private)
            .timeout(TIMEOUT)
            .connect_timeout(TIMEOUT)
            .redirect(redirects)
            .user_agent(concat!("metrobadge-verifier/", env!("CARGO_PKG_VERSION")))
            .dns_resolver(Arc::new(PublicResolver { allow_private }))
            .no_proxy();
        if let Some(pem) = &policy.extra_roots_pem {
            for cert in
                reqwest::Certificate::from_pem_bundle(pem).map_err(|e| format!("extra root certificates: {e}"))?
            {
                builder = builder.add_root_certificate(cert);
            }
        }
        let client = builder.build().map_err(|e| format!("HTTP client: {e}"))?;
        Ok(Fetcher { policy: Arc::new(policy), client })
    }

    pub fn policy(&self) -> &FetchPolicy {
        &self.policy
    }

    /// Why `url` may not be fetched, or `None`: the operator's mode, then HTTPS and the host.
    pub fn refuses(&self, url: &str) -> Option<String> {
        if self.policy.offline {
            return Some("offline: only stored copies are used".into());
        }
        match reqwest::Url::parse(url) {
            Ok(u) => check_url(&u, &self.policy.mode, self.policy.allow_private_addresses).err(),
            Err(e) => Some(format!("not a URL ({e})")),
        }
    }

    /// GETs `url` as JSON within the limits.
    pub async fn get(&self, url: &str) -> Result<Fetched, FetchError> {
        if let Some(why) = self.refuses(url) {
            return Err(FetchError::Refused(why));
        }
        let failed = |why: String| FetchError::Failed { url: url.to_string(), why };
        let mut response = self
            .client
            .get(url)
            .header(
                reqwest::header::ACCEPT,
                "application/did+ld+json, application/ld+json, application/json, application/vc+ld+json",
            )
            .send()
            .await
            .map_err(|e| failed(describe(&e)))?;
        if !response.status().is_success() {
            return Err(failed(format!("HTTP {}", response.status().as_u16())));
        }
        if response.content_length().is_some_and(|n| n > MAX_BYTES as u64) {
            return Err(failed(format!("larger than {MAX_BYTES} bytes")));
        }
        let max_age = response
            .headers()
            .get(reqwest::header::CACHE_CONTROL)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(',').find_map(|d| d.trim().strip_prefix("max-age=")?.parse().ok()));
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| failed(describe(&e)))? {
            if body.len() + chunk.len() > MAX_BYTES {
                return Err(failed(format!("larger than {MAX_BYTES} bytes")));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Fetched { body, max_age })
    }
}

/// The error and its causes in one line (reqwest's own message is only the outermost).
fn describe(e: &reqwest::Error) -> String {
    let mut out = if e.is_timeout() { "timed out".to_string() } else { e.to_string() };
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

/// HTTPS, a host the mode allows, and an IP literal only if public.
fn check_url(url: &reqwest::Url, mode: &FetchMode, allow_private: bool) -> Result<(), String> {
    if url.scheme() != "https" && !allow_private {
        return Err(format!("only https is fetched, not {}", url.scheme()));
    }
    let Some(host) = url.host_str() else { return Err("the URL has no host".into()) };
    // An address literal never reaches the resolver, so it is checked here.
    if let Ok(ip) = host.trim_start_matches('[').trim_end_matches(']').parse::<IpAddr>() {
        check_ip(ip, allow_private)?;
    }
    match mode.refuses(host) {
        Some(why) => Err(why),
        None => Ok(()),
    }
}

fn check_ip(ip: IpAddr, allow_private: bool) -> Result<(), String> {
    if allow_private || is_public(ip) { Ok(()) } else { Err(format!("{ip} is not a public address")) }
}

/// Whether `ip` is a globally reachable unicast address: not private, loopback, link-local,
/// shared (CGNAT), documentation, benchmarking, multicast, broadcast, unspecified or reserved,
/// and for IPv6 not unique-local, site-local, or an IPv4-mapped/compatible form of one of those.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public_v4(v4);
            }
            let s = v6.segments();
            let special = v6.is_unspecified()
                || v6.is_loopback()
                || v6.is_multicast()
                || (s[0] & 0xfe00) == 0xfc00 // unique local fc00::/7
                || (s[0] & 0xffc0) == 0xfe80 // link-local fe80::/10
                || (s[0] & 0xffc0) == 0xfec0 // site-local (deprecated)
                || (s[0] == 0x2001 && s[1] == 0x0db8) // documentation
                || (s[0] == 0x0064 && s[1] == 0xff9b) // NAT64, reaches IPv4 space
                || (s[0] == 0x2002) // 6to4, reaches IPv4 space
                || (s[0] == 0x2001 && s[1] == 0x0000) // Teredo
                || (s[0..6] == [0, 0, 0, 0, 0, 0]); // IPv4-compatible (deprecated)
            !special
        }
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let o = ip.octets();
    !(ip.is_private()
        || ip.is_loopback()
        || ip.is_link_local()
        || ip.is_broadcast()
        || ip.is_documentation()
        || ip.is_unspecified()
        || ip.is_multicast()
        || o[0] == 0
        || (o[0] == 100 && (o[1] & 0xc0) == 64) // shared address space 100.64.0.0/10
        || (o[0] == 192 && o[1] == 0 && o[2] == 0) // IETF protocol assignments
        || (o[0] == 198 && (o[1] & 0xfe) == 18) // benchmarking 198.18.0.0/15
        || o[0] >= 240) // reserved
}

/// Resolves names and refuses any answer that includes a non-public address, so the address
/// connected to is the one checked (no second lookup an attacker's DNS could answer differently).
struct PublicResolver {
    allow_private: bool,
}

impl reqwest::dns::Resolve for PublicResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let allow_private = self.allow_private;
        Box::pin(async move {
            let host = name.as_str().to_string();
            let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            if addrs.is_empty() {
                return Err(format!("{host} has no address").into());
            }
            if let Some(bad) = addrs.iter().find(|a| !allow_private && !is_public(a.ip())) {
                return Err(format!("{host} resolves to {}, which is not a public address", bad.ip()).into());
            }
            Ok(Box::new(addrs.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn only_public_addresses() {
        for bad in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "255.255.255.255",
            "224.0.0.1",
            "198.18.0.1",
            "192.0.2.1",
            "::1",
            "::",
            "fc00::1",
            "fd12:3456::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "64:ff9b::a00:1",
            "2002:a00:1::",
            "2001:db8::1",
        ] {
            assert!(!is_public(ip(bad)), "{bad} must be refused");
        }
        for good in ["93.184.216.34", "1.1.1.1", "2606:4700:4700::1111", "::ffff:93.184.216.34"] {
            assert!(is_public(ip(good)), "{good} is public");
        }
    }

    #[test]
    fn urls_are_checked_before_any_connection() {
        let on = FetchMode::On;
        let check = |u: &str, mode: &FetchMode| check_url(&reqwest::Url::parse(u).unwrap(), mode, false);
        assert!(check("https://issuer.example/did.json", &on).is_ok());
        assert!(check("http://issuer.example/did.json", &on).unwrap_err().contains("https"));
        assert!(check("https://127.0.0.1/x", &on).unwrap_err().contains("not a public address"));
        assert!(check("https://[::1]/x", &on).is_err());
        assert!(check("https://169.254.169.254/latest/meta-data", &on).is_err());
        assert!(check("https://issuer.example/x", &FetchMode::Off).unwrap_err().contains("off"));
        let list = FetchMode::parse("allowlist", &["issuer.example".into(), "*.school.nl".into()]).unwrap();
        assert!(check("https://issuer.example/x", &list).is_ok());
        assert!(check("https://keys.school.nl/x", &list).is_ok());
        assert!(check("https://school.nl.evil.example/x", &list).is_err());
        assert!(check("https://other.example/x", &list).unwrap_err().contains("allowlist"));
    }

    #[test]
    fn modes_parse() {
        assert_eq!(FetchMode::parse("off", &[]), Ok(FetchMode::Off));
        assert_eq!(FetchMode::parse("on", &[]), Ok(FetchMode::On));
        assert!(FetchMode::parse("allowlist", &[]).is_err());
        assert!(FetchMode::parse("sometimes", &[]).is_err());
    }

    #[tokio::test]
    async fn a_name_that_resolves_to_loopback_is_refused() {
        use reqwest::dns::Resolve;
        let resolver = PublicResolver { allow_private: false };
        let err = match resolver.resolve("localhost".parse().unwrap()).await {
            Ok(_) => panic!("localhost must be refused"),
            Err(e) => e.to_string(),
        };
        assert!(err.contains("not a public address"), "{err}");
        // And a fetcher in mode "on" does not connect there.
        let fetcher = Fetcher::new(FetchPolicy { mode: FetchMode::On, ..FetchPolicy::default() }).unwrap();
        assert!(matches!(fetcher.get("https://localhost:1/did.json").await, Err(FetchError::Failed { .. })));
        assert!(matches!(fetcher.get("https://127.0.0.1:1/did.json").await, Err(FetchError::Refused(_))));
    }
}
