//! `zonegate bench`, part 4: server time of the reads people wait for — the console's declaration list and
//! detail, the monitoring centre, and the API's list, detail and statistics — over a store that already
//! holds the end-to-end run's declarations. Requests go through the whole router in process (credentials,
//! policies, store, rendering), one at a time, so the figures are server time without the network.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use tower::ServiceExt;
use zonegate_app::accounts::TokenInput;
use zonegate_app::{App, DEMO_PASSWORD};

/// Requests timed per route.
const ITERATIONS: usize = 200;

async fn token_of(app: &App, user_id: &str) -> anyhow::Result<String> {
    let session = app.login(user_id, DEMO_PASSWORD).await?;
    let principal = app.authenticate_session(&session.secret).await?;
    let input = TokenInput { name: Some("bench".into()), expires_in_days: Some(1), user_id: None };
    Ok(app.issue_token(&principal, input).await?.1)
}

fn percentile(sorted: &[Duration], percent: usize) -> Duration {
    let rank = (sorted.len() * percent).div_ceil(100).max(1);
    sorted[rank - 1]
}

/// Times `ITERATIONS` GETs of each route as the officer, after one warm-up request.
pub(crate) async fn run(app: Arc<App>, declarations: usize) -> anyhow::Result<()> {
    let officer = format!("Bearer {}", token_of(&app, "officer").await?);
    let router = zonegate_server::router(app.clone(), zonegate_server::ServerConfig::standard());
    let middle = declarations.div_ceil(2);
    let routes = [
        "/console/declarations".to_owned(),
        "/console/declarations?flow=second_line_out".to_owned(),
        format!("/console/declarations/{middle}"),
        "/console/monitor?from=2026-02-01&to=2026-03-31".to_owned(),
        "/v1/declarations?limit=50".to_owned(),
        format!("/v1/declarations/{middle}"),
        "/v1/stats/declarations?declared_from=2026-02-01&declared_to=2026-03-31".to_owned(),
    ];
    println!("\n[reads over {declarations} declarations, server time in process, {ITERATIONS} requests each]");
    for route in &routes {
        let mut times = Vec::with_capacity(ITERATIONS);
        let mut status = StatusCode::OK;
        for iteration in 0..=ITERATIONS {
            let request =
                Request::get(route.as_str()).header(header::AUTHORIZATION, officer.as_str()).body(Body::empty())?;
            let started = Instant::now();
            let response = router.clone().oneshot(request).await?;
            status = response.status();
            axum::body::to_bytes(response.into_body(), usize::MAX).await?;
            if iteration > 0 {
                times.push(started.elapsed());
            }
        }
        times.sort();
        println!(
            "  GET {route:<72} {status:>3}  p50 {:>7.2} ms  p90 {:>7.2} ms  max {:>7.2} ms",
            percentile(&times, 50).as_secs_f64() * 1e3,
            percentile(&times, 90).as_secs_f64() * 1e3,
            times.last().copied().unwrap_or_default().as_secs_f64() * 1e3,
        );
    }
    Ok(())
}
