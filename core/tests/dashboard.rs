//! The dashboard's HTTP side: its pages and assets (content types, caching,
//! the Content-Security-Policy, off without an admin token), and the admin API
//! calls it reads: the account list with tiers, the paged usage ledger and the
//! daily sums. The page itself is driven in a browser by tests/dashboard/.
#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test helpers fail loudly"
)]

mod common;

use common::{openai_request, Server, LIMITS};
use serde_json::{json, Value};

const TOKEN: &str = "dash-admin-secret";

/// A gateway with the admin API (and so the dashboard) on.
async fn with_admin(var: &str, extra: &str) -> Server {
    std::env::set_var(var, TOKEN);
    Server::with_config(&format!("{extra}[admin]\ntoken_env = \"{var}\"\n")).await
}

async fn admin_get(s: &Server, path: &str, token: Option<&str>) -> (u16, Value) {
    let mut req = reqwest::Client::new().get(s.url(path));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let r = req.send().await.unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap())
}

/// Asset names a document refers to: `/dashboard/assets/NAME` in the page and
/// `from "./NAME"` in the scripts.
fn references(text: &str) -> Vec<String> {
    let mut names = Vec::new();
    for marker in ["/dashboard/assets/", "from \"./"] {
        for (i, _) in text.match_indices(marker) {
            let rest = &text[i + marker.len()..];
            let end = rest.find(['"', '\'', ')']).unwrap();
            names.push(rest[..end].to_string());
        }
    }
    names
}

#[tokio::test]
async fn dashboard_is_off_without_an_admin_token() {
    let s = Server::builtin().await;
    for path in [
        "/dashboard",
        "/dashboard/keys",
        "/dashboard/usage",
        "/dashboard/assets/app.js",
    ] {
        let r = reqwest::get(s.url(path)).await.unwrap();
        assert_eq!(r.status(), 404, "{path}");
        let body: Value = r.json().await.unwrap();
        assert!(
            body["error"]["message"]
                .as_str()
                .unwrap()
                .contains("admin.token_env"),
            "{body}"
        );
    }
    s.stop().await;
}

#[tokio::test]
async fn dashboard_serves_its_pages_and_every_asset_they_load() {
    let s = with_admin("MWS_TEST_DASH_TOKEN_A", LIMITS).await;
    let client = reqwest::Client::new();
    let mut index = String::new();
    for path in [
        "/dashboard",
        "/dashboard/",
        "/dashboard/credits",
        "/dashboard/keys",
        "/dashboard/usage",
    ] {
        // The page needs no token: it asks for one and sends it to /admin only.
        let r = client.get(s.url(path)).send().await.unwrap();
        assert_eq!(r.status(), 200, "{path}");
        let h = r.headers();
        assert_eq!(h["content-type"], "text/html; charset=utf-8");
        let csp = h["content-security-policy"].to_str().unwrap();
        assert!(csp.starts_with("default-src 'self'"), "{csp}");
        assert!(!csp.contains("unsafe") && !csp.contains("http"), "{csp}");
        assert_eq!(h["x-content-type-options"], "nosniff");
        assert_eq!(h["cache-control"], "no-cache");
        assert!(h.get("set-cookie").is_none());
        index = r.text().await.unwrap();
    }
    assert!(
        !index.contains("http://") && !index.contains("https://"),
        "no CDN"
    );

    // Everything the page loads, and everything those scripts import, is served.
    let mut pending = references(&index);
    let mut seen = Vec::new();
    while let Some(name) = pending.pop() {
        if seen.contains(&name) {
            continue;
        }
        let r = client
            .get(s.url(&format!("/dashboard/assets/{name}")))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{name}");
        let want = match name.rsplit('.').next().unwrap() {
            "js" => "text/javascript; charset=utf-8",
            "css" => "text/css; charset=utf-8",
            "svg" => "image/svg+xml",
            other => panic!("unexpected asset type {other}"),
        };
        assert_eq!(r.headers()["content-type"], want, "{name}");
        assert!(r.headers().contains_key("content-security-policy"));
        let etag = r.headers()["etag"].to_str().unwrap().to_string();
        let text = r.text().await.unwrap();
        // The SVG namespace is a name, not a place anything is loaded from.
        let outside = text.replace("http://www.w3.org/2000/svg", "");
        assert!(
            !outside.contains("http://") && !outside.contains("https://"),
            "{name} loads nothing from elsewhere"
        );
        pending.extend(references(&text));
        // A browser holding this version revalidates for free.
        let again = client
            .get(s.url(&format!("/dashboard/assets/{name}")))
            .header("if-none-match", &etag)
            .send()
            .await
            .unwrap();
        assert_eq!(again.status(), 304, "{name}");
        seen.push(name);
    }
    for name in ["app.js", "api.js", "style.css", "usage.js", "chart.js"] {
        assert!(
            seen.iter().any(|s| s == name),
            "{name} not reached: {seen:?}"
        );
    }

    let r = client
        .get(s.url("/dashboard/assets/nope.js"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    let r = client.post(s.url("/dashboard")).send().await.unwrap();
    assert_eq!(r.status(), 405);
    s.stop().await;
}

#[tokio::test]
async fn admin_lists_accounts_with_their_tier() {
    let tiers = "[limits]\nunauthenticated_rpm_per_ip = 100000\n\
        [[limits.tiers]]\nmin_lifetime_spend_usd = 0\nrpm = 100\ntpm = 5000\n\
        [[limits.tiers]]\nmin_lifetime_spend_usd = 50\nrpm = 900\ntpm = 90000\n\
        [[plans]]\nname = \"pro\"\nmin_tier = 1\n";
    let s = with_admin("MWS_TEST_DASH_TOKEN_B", tiers).await;
    let admin = s.gateway.admin();
    let team = admin
        .create_account(&json!({"name": "team"}))
        .await
        .unwrap();
    let team_id = team["id"].as_str().unwrap();
    admin
        .set_plan(team_id, &json!({"plan": "pro"}))
        .await
        .unwrap();

    assert_eq!(admin_get(&s, "/admin/accounts", None).await.0, 401);
    assert_eq!(admin_get(&s, "/admin/accounts", Some("wrong")).await.0, 401);
    let (status, list) = admin_get(&s, "/admin/accounts", Some(TOKEN)).await;
    assert_eq!(status, 200);
    assert_eq!(list["object"], "list");
    let data = list["data"].as_array().unwrap();
    assert_eq!(data.len(), 2, "{list}");
    let find = |id: &str| data.iter().find(|a| a["id"] == id).unwrap().clone();
    let funded = find(&s.account_id);
    assert_eq!(funded["balance_usd"], 1000.0);
    assert_eq!(funded["lifetime_spend_usd"], 0.0);
    assert_eq!(funded["plan"], Value::Null);
    assert_eq!(
        funded["tier"],
        json!({"index": 0, "rpm": 100, "tpm": 5000, "min_lifetime_spend_usd": 0.0})
    );
    // The plan lifts the tier.
    let planned = find(team_id);
    assert_eq!(planned["plan"], "pro");
    assert_eq!(
        (
            planned["tier"]["index"].as_u64(),
            planned["tier"]["rpm"].as_u64()
        ),
        (Some(1), Some(900))
    );
    // The same list in-process, without the token.
    assert_eq!(admin.list_accounts().await.unwrap(), list);
    s.stop().await;
}

#[tokio::test]
async fn admin_usage_pages_the_ledger_and_sums_it_by_day_and_profile() {
    let s = with_admin("MWS_TEST_DASH_TOKEN_C", LIMITS).await;
    let mut ids = Vec::new();
    for model in ["dragon", "dragon", "dragon-pro"] {
        let r = s
            .post("/v1/chat/completions", &openai_request(model, "hello"))
            .await;
        assert_eq!(r.status, 200);
        ids.push(r.header("request-id").to_string());
    }
    let base = format!("/admin/accounts/{}/usage", s.account_id);

    // Without parameters: the original shape, every row oldest first.
    let (_, all) = admin_get(&s, &base, Some(TOKEN)).await;
    let keys: Vec<&String> = all.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["account_id", "data", "totals"]);
    assert_eq!(all["data"].as_array().unwrap().len(), 3);
    assert_eq!(all["data"][0]["request_id"], ids[0].as_str());

    let (status, page) = admin_get(&s, &format!("{base}?limit=2&order=desc"), Some(TOKEN)).await;
    assert_eq!(status, 200, "{page}");
    let rows: Vec<&str> = page["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["request_id"].as_str().unwrap())
        .collect();
    assert_eq!(rows, [ids[2].as_str(), ids[1].as_str()]);
    assert_eq!(
        page["page"],
        json!({"limit": 2, "offset": 0, "order": "desc", "rows": 3, "has_more": true})
    );
    assert_eq!(page["totals"], all["totals"]);
    let (_, rest) = admin_get(
        &s,
        &format!("{base}?limit=2&offset=2&order=desc"),
        Some(TOKEN),
    )
    .await;
    assert_eq!(rest["data"][0]["request_id"], ids[0].as_str());
    assert_eq!(rest["page"]["has_more"], false);

    let (_, daily) = admin_get(&s, &format!("{base}?by=day&days=7"), Some(TOKEN)).await;
    let days = daily["daily"].as_array().unwrap();
    assert_eq!(days.len(), 7);
    let today = time::OffsetDateTime::now_utc().date();
    let today = format!(
        "{:04}-{:02}-{:02}",
        today.year(),
        u8::from(today.month()),
        today.day()
    );
    assert_eq!(days[6]["date"], today.as_str());
    assert_eq!(days[6]["requests"], 3);
    assert_eq!(days[6]["cost_usd"], all["totals"]["cost_usd"]);
    let profiles: Vec<(&str, u64)> = days[6]["profiles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["profile"].as_str().unwrap(),
                p["requests"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(profiles, [("dragon", 2), ("dragon-pro", 1)]);
    assert_eq!(daily["by_profile"][1]["profile"], "dragon-pro");
    assert_eq!(days[0]["requests"], 0);

    let (_, pro) = admin_get(
        &s,
        &format!("{base}?profile=dragon-pro&by=day&days=1"),
        Some(TOKEN),
    )
    .await;
    assert_eq!(pro["totals"]["requests"], 1);
    assert_eq!(pro["data"][0]["request_id"], ids[2].as_str());
    assert_eq!(pro["daily"][0]["requests"], 1);

    // Bad parameters are a 400 naming the parameter, after the token check.
    let (status, e) = admin_get(&s, &format!("{base}?limit=0"), Some(TOKEN)).await;
    assert_eq!((status, e["error"]["param"].as_str()), (400, Some("limit")));
    let (status, e) = admin_get(&s, &format!("{base}?by=week"), Some(TOKEN)).await;
    assert_eq!((status, e["error"]["param"].as_str()), (400, Some("by")));
    assert_eq!(admin_get(&s, &format!("{base}?limit=0"), None).await.0, 401);
    let (status, _) = admin_get(&s, "/admin/accounts/acct_nope/usage?by=day", Some(TOKEN)).await;
    assert_eq!(status, 404);
    s.stop().await;
}
