//! The bonded ledgers (`/v1/ledgers/{uscc}/…`, issue 5): one route records every kind of ledger document
//! (items, lists, gate passes, bills of materials, processing runs, exhibitions, leases, stock counts …),
//! the others read balances, documents, the data-patrol report and the write-off statement.

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::NaiveDate;
use serde_json::json;
use zonegate_app::ledger::LedgerRecorded;
use zonegate_domain::FieldErrors;

use crate::auth::Caller;
use crate::error::ApiError;
use crate::extract::{JsonBody, Params, PathParams};
use crate::handlers::created;
use crate::Shared;

/// `POST /v1/ledgers/{uscc}/{kind}`: records a document of `kind` (`items`, `lists`,
/// `list-cancellations`, `gate-passes`, `boms`, `processing-runs`, `exhibitions`, `exhibition-returns`,
/// `exhibition-sales`, `patrols`, `leases`, `lease-instalments`, `lease-returns`, `stocktakes`). 201 with
/// the document and its result (transfers, values, taxes) when new; 200 with the first result for the same
/// body again; 409 for another body under the same number; 422 with every problem.
pub(crate) async fn record(
    State(api): State<Shared>,
    caller: Caller,
    PathParams((uscc, kind)): PathParams<(String, String)>,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    let recorded = api.app.record_ledger(&caller.principal, &uscc, &kind, &body).await?;
    Ok(match recorded {
        LedgerRecorded::Created(body) => {
            let location = format!(
                "/v1/ledgers/{uscc}/documents/{}/{}",
                body["kind"].as_str().unwrap_or_default(),
                body["number"].as_str().unwrap_or_default()
            );
            created(&location, body)
        }
        LedgerRecorded::Repeat(body) => (StatusCode::OK, Json(body)).into_response(),
    })
}

/// `GET /v1/ledgers/{uscc}`: every item with its stock, exhibited and leased balances and reservations.
pub(crate) async fn overview(
    State(api): State<Shared>,
    caller: Caller,
    PathParams(uscc): PathParams<String>,
) -> Result<Response, ApiError> {
    Ok(Json(api.app.ledger_overview(&caller.principal, &uscc)?).into_response())
}

/// `GET /v1/ledgers/{uscc}/items/{item_no}`: one item's balances and every transfer touching it.
pub(crate) async fn item(
    State(api): State<Shared>,
    caller: Caller,
    PathParams((uscc, item_no)): PathParams<(String, String)>,
) -> Result<Response, ApiError> {
    Ok(Json(api.app.ledger_item(&caller.principal, &uscc, &item_no).map_err(|e| ApiError::from_app(e, "item_no"))?)
        .into_response())
}

/// `GET /v1/ledgers/{uscc}/documents?kind=&after=&limit=`: the enterprise's documents in recorded order.
pub(crate) async fn documents(
    State(api): State<Shared>,
    caller: Caller,
    PathParams(uscc): PathParams<String>,
    params: Params,
) -> Result<Response, ApiError> {
    let mut errors = FieldErrors::default();
    params.check(&["kind", "after", "limit"], &mut errors);
    let after = params.integer::<i64>("after", &mut errors);
    let limit = params.integer::<u32>("limit", &mut errors).unwrap_or(zonegate_app::PAGE_SIZE_DEFAULT);
    if !errors.is_empty() {
        return Err(ApiError::invalid(&errors));
    }
    let items = api.app.ledger_documents(&caller.principal, &uscc, params.text("kind"), after, limit).await?;
    let next = items.last().and_then(|d| d["seq"].as_i64()).filter(|_| items.len() == limit as usize);
    Ok(Json(json!({ "items": items, "next_after": next })).into_response())
}

/// `GET /v1/ledgers/{uscc}/documents/{kind}/{number}`.
pub(crate) async fn document(
    State(api): State<Shared>,
    caller: Caller,
    PathParams((uscc, kind, number)): PathParams<(String, String, String)>,
) -> Result<Response, ApiError> {
    let body = api
        .app
        .ledger_document(&caller.principal, &uscc, &kind, &number)
        .await
        .map_err(|e| ApiError::from_app(e, "number"))?;
    Ok(Json(body).into_response())
}

/// `GET /v1/ledgers/{uscc}/patrol?on=YYYY-MM-DD` (default today): exhibitions overdue or short of goods
/// without a taxed sale, and rent instalments due but untaxed.
pub(crate) async fn patrol(
    State(api): State<Shared>,
    caller: Caller,
    PathParams(uscc): PathParams<String>,
    params: Params,
) -> Result<Response, ApiError> {
    let mut errors = FieldErrors::default();
    params.check(&["on"], &mut errors);
    let on = params.date("on", &mut errors).unwrap_or_else(|| api.app.now().date_naive());
    if !errors.is_empty() {
        return Err(ApiError::invalid(&errors));
    }
    Ok(Json(api.app.ledger_patrol(&caller.principal, &uscc, on)?).into_response())
}

/// `GET /v1/ledgers/{uscc}/writeoff?from=&to=&format=json|csv`: the write-off (核销) statement per item,
/// opening + entries + production − exits − consumption − write-offs = closing, for the days `from..=to`.
pub(crate) async fn write_off(
    State(api): State<Shared>,
    caller: Caller,
    PathParams(uscc): PathParams<String>,
    params: Params,
) -> Result<Response, ApiError> {
    let mut errors = FieldErrors::default();
    params.check(&["from", "to", "format"], &mut errors);
    let today = api.app.now().date_naive();
    let from = params.date("from", &mut errors).unwrap_or_else(|| NaiveDate::from_ymd_opt(2000, 1, 1).unwrap_or(today));
    let to = params.date("to", &mut errors).unwrap_or(today);
    let csv = match params.text("format") {
        None | Some("json") => false,
        Some("csv") => true,
        Some(other) => {
            errors.add("choice", "format", format!("`{other}` is not `json` or `csv`"));
            false
        }
    };
    if !errors.is_empty() {
        return Err(ApiError::invalid(&errors));
    }
    let (report, text) = api.app.ledger_write_off(&caller.principal, &uscc, from, to)?;
    if csv {
        let disposition = format!("attachment; filename=\"writeoff-{uscc}-{from}-{to}.csv\"");
        return Ok((
            StatusCode::OK,
            [(header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()), (header::CONTENT_DISPOSITION, disposition)],
            text,
        )
            .into_response());
    }
    Ok(Json(report).into_response())
}
