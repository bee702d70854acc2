//! Sharing an issued credential elsewhere: the badge page and the learner's e-mail offer the
//! same "Add to LinkedIn profile" link, built here once from the signed document.

use serde_json::Value;

/// LinkedIn's "add certification" link for a credential published at `url`, pre-filled with
/// its name, issuer and dates (LinkedIn asks for year and month only).
pub fn linkedin_add_url(vc: &Value, url: &str, id: &str) -> String {
    let name = vc["credentialSubject"]["achievement"]["name"].as_str().unwrap_or("Badge");
    let issuer_name = vc["issuer"]["name"].as_str().unwrap_or("");
    let issued = vc["validFrom"].as_str().unwrap_or("");
    let (year, month) = year_month(issued);
    let mut params = vec![
        ("startTask", "CERTIFICATION_NAME"),
        ("name", name),
        ("organizationName", issuer_name),
        ("issueYear", year),
        ("issueMonth", month),
        ("certUrl", url),
        ("certId", id),
    ];
    if let Some(until) = vc["validUntil"].as_str() {
        let (year, month) = year_month(until);
        params.extend([("expirationYear", year), ("expirationMonth", month)]);
    }
    let query = serde_urlencoded::to_string(&params).unwrap_or_default();
    format!("https://www.linkedin.com/profile/add?{query}")
}

/// `2026-03-05T…` → (`2026`, `3`).
fn year_month(rfc3339: &str) -> (&str, &str) {
    (rfc3339.get(0..4).unwrap_or(""), rfc3339.get(5..7).map(|m| m.trim_start_matches('0')).unwrap_or(""))
}

#[cfg(test)]
mod tests {
    #[test]
    fn fills_name_issuer_and_dates() {
        let vc = serde_json::json!({"credentialSubject": {"achievement": {"name": "Veilig & snel"}},
            "issuer": {"name": "Techniek Twente"}, "validFrom": "2026-03-05T10:00:00Z", "validUntil": "2028-11-01T00:00:00Z"});
        let url = super::linkedin_add_url(&vc, "https://b.example/credentials/x", "x");
        assert_eq!(
            url,
            "https://www.linkedin.com/profile/add?startTask=CERTIFICATION_NAME&name=Veilig+%26+snel\
             &organizationName=Techniek+Twente&issueYear=2026&issueMonth=3\
             &certUrl=https%3A%2F%2Fb.example%2Fcredentials%2Fx&certId=x&expirationYear=2028&expirationMonth=11"
        );
    }
}
