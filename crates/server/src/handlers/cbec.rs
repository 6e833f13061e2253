//! Cross-border e-commerce, bonded retail import 1210 (`/v1/cbec/…`, issue 6, measure 3): the three
//! documents one by one or in batches, the platform's cancellations and returns, customs inspections, the
//! agents' signed tax payments, keys and guarantees, the reports, and the public traceability resolver
//! (`/01/{gtin}/21/{serial}`, GS1 Digital Link) with its QR image.

use axum::body::to_bytes;
use axum::extract::{Request, State};
use axum::http::header::{ACCEPT, CONTENT_TYPE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::Json;
use maud::html;
use serde_json::Value;
use zonegate_app::cbec::CbecAnswer;

use crate::auth::Caller;
use crate::error::ApiError;
use crate::extract::{JsonBody, PathParams};
use crate::handlers::created;
use crate::Shared;

fn answered(answer: CbecAnswer) -> Response {
    if answer.created {
        let location =
            answer.body["order"].as_str().map(|order| format!("/v1/cbec/orders/{order}")).unwrap_or_default();
        created(&location, answer.body)
    } else {
        (StatusCode::OK, Json(answer.body)).into_response()
    }
}

async fn submit(api: Shared, caller: Caller, kind: &str, body: Value) -> Result<Response, ApiError> {
    Ok(answered(api.app.cbec_submit(&caller.principal, kind, body).await?))
}

/// `POST /v1/cbec/orders`: an order from an e-commerce platform. 201 when recorded (with the decision when
/// it completed the order), 200 for a repeat, 409 for another body under the same order, 422 with every
/// problem.
pub(crate) async fn submit_order(
    State(api): State<Shared>,
    caller: Caller,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    submit(api, caller, "order", body).await
}

/// `POST /v1/cbec/payments`: a payment from a payment company.
pub(crate) async fn submit_payment(
    State(api): State<Shared>,
    caller: Caller,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    submit(api, caller, "payment", body).await
}

/// `POST /v1/cbec/waybills`: a waybill from a logistics company.
pub(crate) async fn submit_waybill(
    State(api): State<Shared>,
    caller: Caller,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    submit(api, caller, "waybill", body).await
}

fn is_batch_type(headers: &HeaderMap) -> bool {
    headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|value| {
        let media = value.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
        matches!(media.as_str(), "application/json" | "application/x-ndjson" | "application/jsonl")
    })
}

/// `POST /v1/cbec/batches`: many documents at once, a JSON array of `{"kind", "document"}` or NDJSON of
/// the same (`content-type: application/x-ndjson`). 200 with one result per entry, in order: each recorded,
/// repeated or refused with its own problems; a bad entry never stops the others.
pub(crate) async fn batch(State(api): State<Shared>, caller: Caller, request: Request) -> Result<Response, ApiError> {
    if !is_batch_type(request.headers()) {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "content_type",
            "",
            "a batch is sent as `application/json` (an array) or `application/x-ndjson` (one document per line)",
        ));
    }
    let limit = api.config.batch_limit_bytes;
    let bytes = to_bytes(request.into_body(), limit).await.map_err(|_| {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_too_large",
            "",
            format!("a batch is at most {limit} bytes (and {} documents)", zonegate_cbec::documents::BATCH_MAX),
        )
    })?;
    let text = std::str::from_utf8(&bytes)
        .map_err(|_| ApiError::new(StatusCode::BAD_REQUEST, "body", "", "the batch is not UTF-8 text"))?;
    Ok(Json(api.app.cbec_batch(&caller.principal, text).await?).into_response())
}

/// `GET /v1/cbec/orders/{platform}/{order_no}`: the order's state and every record of it.
pub(crate) async fn get_order(
    State(api): State<Shared>,
    caller: Caller,
    PathParams((platform, order_no)): PathParams<(String, String)>,
) -> Result<Response, ApiError> {
    Ok(Json(api.app.cbec_order(&caller.principal, &platform, &order_no).await?).into_response())
}

/// `POST /v1/cbec/orders/{platform}/{order_no}/cancellation`: the platform cancels before release
/// (`{"reason": …}`); the buyer's reservation is voided and the tax leaves the bill.
pub(crate) async fn cancel(
    State(api): State<Shared>,
    caller: Caller,
    PathParams((platform, order_no)): PathParams<(String, String)>,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    Ok(answered(api.app.cbec_cancel(&caller.principal, &platform, &order_no, body).await?))
}

/// `POST /v1/cbec/orders/{platform}/{order_no}/returns`: a return of released goods
/// (`{"return_no", "lines"?, "applied_at", "goods_back_at"}`), within 30 days of release, goods back within 45.
pub(crate) async fn return_goods(
    State(api): State<Shared>,
    caller: Caller,
    PathParams((platform, order_no)): PathParams<(String, String)>,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    Ok(answered(api.app.cbec_return(&caller.principal, &platform, &order_no, body).await?))
}

/// `POST /v1/cbec/orders/{platform}/{order_no}/inspection`: customs' result for a held order
/// (`{"outcome": "no_finding" | "finding", "note"?}`).
pub(crate) async fn inspect(
    State(api): State<Shared>,
    caller: Caller,
    PathParams((platform, order_no)): PathParams<(String, String)>,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    Ok(answered(api.app.cbec_inspect(&caller.principal, &platform, &order_no, body).await?))
}

/// `POST /v1/cbec/tax-payments`: a payment notice for an agent's bill, signed with the agent's registered
/// Ed25519 key; the orders it secures are released.
pub(crate) async fn pay(
    State(api): State<Shared>,
    caller: Caller,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    Ok(answered(api.app.cbec_pay(&caller.principal, body).await?))
}

/// `GET /v1/cbec/agents/{uscc}/bills`: the agent's tax bills by period and its guarantee.
pub(crate) async fn bills(
    State(api): State<Shared>,
    caller: Caller,
    PathParams(uscc): PathParams<String>,
) -> Result<Response, ApiError> {
    Ok(Json(api.app.cbec_bills(&caller.principal, &uscc)?).into_response())
}

/// `POST /v1/cbec/agents/{uscc}/keys`: registers a public key for the agent's payment notices (customs).
pub(crate) async fn add_key(
    State(api): State<Shared>,
    caller: Caller,
    PathParams(uscc): PathParams<String>,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    Ok(created("", api.app.cbec_add_agent_key(&caller.principal, &uscc, &body).await?))
}

/// `POST /v1/cbec/agents/{uscc}/guarantee`: the agent's guarantee from a date (customs).
pub(crate) async fn set_guarantee(
    State(api): State<Shared>,
    caller: Caller,
    PathParams(uscc): PathParams<String>,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    Ok(created("", api.app.cbec_set_guarantee(&caller.principal, &uscc, &body).await?))
}

/// `GET /v1/cbec/incomplete`: orders whose documents have waited longer than the configured time.
pub(crate) async fn incomplete(State(api): State<Shared>, caller: Caller) -> Result<Response, ApiError> {
    Ok(Json(api.app.cbec_incomplete(&caller.principal)?).into_response())
}

/// `GET /v1/cbec/overview`: orders by status.
pub(crate) async fn overview(State(api): State<Shared>, caller: Caller) -> Result<Response, ApiError> {
    Ok(Json(api.app.cbec_overview(&caller.principal)?).into_response())
}

/// `POST /v1/cbec/quota-lookups`: a buyer's year (`{"id_number", "year"}`; in the body, not the URL, so the
/// number stays out of access logs).
pub(crate) async fn quota(
    State(api): State<Shared>,
    caller: Caller,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    let id_number = body["id_number"].as_str().unwrap_or_default();
    let year = body["year"].as_i64().and_then(|y| i32::try_from(y).ok()).unwrap_or(0);
    Ok(Json(api.app.cbec_quota(&caller.principal, id_number, year)?).into_response())
}

fn wants_html(headers: &HeaderMap) -> bool {
    headers.get(ACCEPT).and_then(|v| v.to_str().ok()).is_some_and(|accept| accept.contains("text/html"))
}

/// `GET /01/{gtin}/21/{serial}` (public): what a scanned traceability code shows: the goods, their origin,
/// clearance and release. HTML for browsers, JSON otherwise.
pub(crate) async fn trace(
    State(api): State<Shared>,
    headers: HeaderMap,
    PathParams((gtin, serial)): PathParams<(String, String)>,
) -> Result<Response, ApiError> {
    let facts = api.app.cbec_trace(&gtin, &serial).await?;
    if !wants_html(&headers) {
        return Ok(Json(facts).into_response());
    }
    let text = |v: &Value| v.as_str().map(str::to_owned).unwrap_or_else(|| v.to_string());
    let page = html! {
        (maud::DOCTYPE)
        html lang="zh-CN" {
            head { meta charset="utf-8"; meta name="viewport" content="width=device-width"; title { "溯源 Traceability" } }
            body {
                h1 { "跨境电商商品溯源 / Product traceability" }
                dl {
                    dt { "商品 Goods" } dd { (text(&facts["goods"]["name"])) " · GTIN " (text(&facts["goods"]["gtin"])) }
                    dt { "原产地 Origin" } dd { (text(&facts["goods"]["origin"])) }
                    dt { "监管方式 Customs mode" } dd { "1210 网购保税进口 / bonded online retail import" }
                    dt { "区域 Zone" } dd { (text(&facts["clearance"]["zone"])) }
                    dt { "电商企业 Enterprise" } dd { (text(&facts["clearance"]["enterprise"])) }
                    dt { "订单 Order" } dd { (text(&facts["clearance"]["order"])) }
                    dt { "放行 Released" } dd { (text(&facts["release"]["released_at"])) " (" (text(&facts["release"]["status"])) ")" }
                    dt { "编码 Code" } dd { code { (text(&facts["code"]["uri"])) } }
                }
            }
        }
    };
    Ok(Html(page.into_string()).into_response())
}

/// `GET /v1/cbec/trace/{gtin}/{serial}/qr.svg` (public): the code's QR image.
pub(crate) async fn trace_qr(
    State(api): State<Shared>,
    PathParams((gtin, serial)): PathParams<(String, String)>,
) -> Result<Response, ApiError> {
    let facts = api.app.cbec_trace(&gtin, &serial).await?;
    let uri = facts["code"]["uri"].as_str().unwrap_or_default();
    let svg = zonegate_cbec::trace::qr_svg(uri);
    let mut response = svg.into_response();
    response.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("image/svg+xml"));
    Ok(response)
}
