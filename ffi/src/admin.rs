//! The admin operations in-process, without the admin token (the host is
//! trusted): the admin API's JSON in C strings. Errors are OpenAI-shaped, as
//! the admin API's are.

use std::ffi::c_char;

use mws_core::accounts::ops::AdminOp;
use serde_json::{json, Map, Number, Value};

use crate::args::{handle, json_arg, opt_str_arg, out_arg, str_arg, to_caller_json};
use crate::calls::with_body;
use crate::failure::{Failure, FfiResult};
use crate::gateway::mws_gateway;
use crate::panic::guard;
use crate::runtime::block_on;
use crate::status::mws_status;

/// For an rpm or tpm argument: no limit (on `mws_admin_create_key`), or clear
/// the key's own limit (on `mws_admin_set_key_throttle`).
pub const MWS_NO_LIMIT: i64 = -1;
/// For an rpm or tpm argument of `mws_admin_set_key_throttle`: leave it as it is.
pub const MWS_KEEP: i64 = -2;

/// One admin operation: `args` gives the operation, its id and its body from
/// the call's own arguments; its JSON or error body goes to `out`.
///
/// # Safety
/// `gateway` and `out_json` follow the contract of the public functions.
unsafe fn admin_call<'a>(
    gateway: *const mws_gateway,
    out_json: *mut *mut c_char,
    args: impl FnOnce() -> FfiResult<(AdminOp, &'a str, Value)>,
) -> mws_status {
    guard(|| {
        // SAFETY: the caller's contract.
        let out = unsafe { out_arg(out_json, "out_json") }?;
        // SAFETY: as above; the handle outlives this call.
        let gw = unsafe { handle(gateway, "gateway") }?;
        let (op, id, body) = args()?;
        match block_on(op.run(&gw.inner.admin(), id, &body))? {
            Ok(v) => {
                *out = to_caller_json(&v)?;
                Ok(())
            }
            Err(e) => Err(with_body(Some(out), Failure::core(e))),
        }
    })
}

/// An rpm/tpm argument as a JSON field: absent, `null`, or the number.
fn limit_field(body: &mut Map<String, Value>, name: &str, value: i64, keep: bool) -> FfiResult<()> {
    match value {
        v if v >= 0 => {
            body.insert(name.into(), json!(v));
        }
        MWS_NO_LIMIT if keep => {
            body.insert(name.into(), Value::Null);
        }
        MWS_NO_LIMIT => {}
        MWS_KEEP if keep => {}
        v => {
            let allowed = if keep {
                "a number >= 0, MWS_NO_LIMIT or MWS_KEEP"
            } else {
                "a number >= 0 or MWS_NO_LIMIT"
            };
            return Err(Failure::argument(format!(
                "{name} must be {allowed}, got {v}"
            )));
        }
    }
    Ok(())
}

/// Creates an account: `{"id","name","balance_usd","lifetime_spend_usd","plan"}`
/// (as `POST /admin/accounts`).
///
/// Ownership: `name` is borrowed. `*out_json` is set to NULL first, then to the
/// account JSON on `MWS_OK` or the error body on a gateway error; free it with
/// `mws_string_free`. Blocks the calling thread; thread-safe.
///
/// # Safety
/// `gateway` is NULL or a live handle; `name` is NULL or NUL-terminated;
/// `out_json` is NULL or valid for writing a pointer.
#[no_mangle]
pub unsafe extern "C" fn mws_admin_create_account(
    gateway: *const mws_gateway,
    name: *const c_char,
    out_json: *mut *mut c_char,
) -> mws_status {
    // SAFETY: the contract above.
    unsafe {
        admin_call(gateway, out_json, || {
            let body = json!({"name": str_arg(name, "name")?});
            Ok((AdminOp::CreateAccount, "", body))
        })
    }
}

/// The account (as `GET /admin/accounts/{id}`); `MWS_NOT_FOUND` for an unknown id.
///
/// Ownership, threading: as for `mws_admin_create_account`.
///
/// # Safety
/// As for `mws_admin_create_account`.
#[no_mangle]
pub unsafe extern "C" fn mws_admin_account(
    gateway: *const mws_gateway,
    account_id: *const c_char,
    out_json: *mut *mut c_char,
) -> mws_status {
    // SAFETY: the contract above.
    unsafe {
        admin_call(gateway, out_json, || {
            let id = str_arg(account_id, "account_id")?;
            Ok((AdminOp::Account, id, Value::Null))
        })
    }
}

/// Adds `amount_usd` of credits (positive, at most 9 decimals), returning the
/// account (as `POST /admin/accounts/{id}/credits`). A NaN or infinite amount
/// is `MWS_INVALID_ARGUMENT`.
///
/// Ownership, threading: as for `mws_admin_create_account`.
///
/// # Safety
/// As for `mws_admin_create_account`.
#[no_mangle]
pub unsafe extern "C" fn mws_admin_add_credits(
    gateway: *const mws_gateway,
    account_id: *const c_char,
    amount_usd: f64,
    out_json: *mut *mut c_char,
) -> mws_status {
    // SAFETY: the contract above.
    unsafe {
        admin_call(gateway, out_json, || {
            let id = str_arg(account_id, "account_id")?;
            // The core reads the amount from the number's shortest text, so 0.1 is 0.1.
            let amount = Number::from_f64(amount_usd)
                .ok_or_else(|| Failure::argument("amount_usd must be a finite number"))?;
            let body = json!({"amount_usd": amount});
            Ok((AdminOp::AddCredits, id, body))
        })
    }
}

/// Sets the account's plan (a name from the config's `[[plans]]`), or clears
/// it when `plan` is NULL; returns the account (as `PUT /admin/accounts/{id}/plan`).
///
/// Ownership, threading: as for `mws_admin_create_account`.
///
/// # Safety
/// As for `mws_admin_create_account`; `plan` is NULL or NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn mws_admin_set_plan(
    gateway: *const mws_gateway,
    account_id: *const c_char,
    plan: *const c_char,
    out_json: *mut *mut c_char,
) -> mws_status {
    // SAFETY: the contract above.
    unsafe {
        admin_call(gateway, out_json, || {
            let id = str_arg(account_id, "account_id")?;
            let body = json!({"plan": opt_str_arg(plan, "plan")?});
            Ok((AdminOp::SetPlan, id, body))
        })
    }
}

/// Creates a key for the account: `{"id","key",...}`, the secret `key`
/// (`mws_live_...`) shown this once (as `POST /admin/accounts/{id}/keys`).
/// `name` may be NULL (`"default"`); `rpm` and `tpm` are the key's own
/// throttle, or `MWS_NO_LIMIT`. `MWS_INSUFFICIENT_CREDITS` unless the account
/// holds $25 of credits or has a plan.
///
/// Ownership, threading: as for `mws_admin_create_account`.
///
/// # Safety
/// As for `mws_admin_create_account`; `name` is NULL or NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn mws_admin_create_key(
    gateway: *const mws_gateway,
    account_id: *const c_char,
    name: *const c_char,
    rpm: i64,
    tpm: i64,
    out_json: *mut *mut c_char,
) -> mws_status {
    // SAFETY: the contract above.
    unsafe {
        admin_call(gateway, out_json, || {
            let id = str_arg(account_id, "account_id")?;
            let mut body = Map::new();
            if let Some(name) = opt_str_arg(name, "name")? {
                body.insert("name".into(), json!(name));
            }
            limit_field(&mut body, "rpm", rpm, false)?;
            limit_field(&mut body, "tpm", tpm, false)?;
            let body = Value::Object(body);
            Ok((AdminOp::CreateKey, id, body))
        })
    }
}

/// The account's keys, without secrets: `{"object":"list","data":[...]}`
/// (as `GET /admin/accounts/{id}/keys`).
///
/// Ownership, threading: as for `mws_admin_create_account`.
///
/// # Safety
/// As for `mws_admin_create_account`.
#[no_mangle]
pub unsafe extern "C" fn mws_admin_list_keys(
    gateway: *const mws_gateway,
    account_id: *const c_char,
    out_json: *mut *mut c_char,
) -> mws_status {
    // SAFETY: the contract above.
    unsafe {
        admin_call(gateway, out_json, || {
            let id = str_arg(account_id, "account_id")?;
            Ok((AdminOp::ListKeys, id, Value::Null))
        })
    }
}

/// Sets a key's own throttle, returning the key (as `PATCH /admin/keys/{id}`):
/// for each of `rpm` and `tpm`, a number sets it, `MWS_NO_LIMIT` clears it and
/// `MWS_KEEP` leaves it as it is.
///
/// Ownership, threading: as for `mws_admin_create_account`.
///
/// # Safety
/// As for `mws_admin_create_account`.
#[no_mangle]
pub unsafe extern "C" fn mws_admin_set_key_throttle(
    gateway: *const mws_gateway,
    key_id: *const c_char,
    rpm: i64,
    tpm: i64,
    out_json: *mut *mut c_char,
) -> mws_status {
    // SAFETY: the contract above.
    unsafe {
        admin_call(gateway, out_json, || {
            let id = str_arg(key_id, "key_id")?;
            let mut body = Map::new();
            limit_field(&mut body, "rpm", rpm, true)?;
            limit_field(&mut body, "tpm", tpm, true)?;
            let body = Value::Object(body);
            Ok((AdminOp::SetKeyThrottle, id, body))
        })
    }
}

/// Revokes a key, returning it (as `DELETE /admin/keys/{id}`): from then on
/// calls with it get `MWS_AUTHENTICATION`.
///
/// Ownership, threading: as for `mws_admin_create_account`.
///
/// # Safety
/// As for `mws_admin_create_account`.
#[no_mangle]
pub unsafe extern "C" fn mws_admin_revoke_key(
    gateway: *const mws_gateway,
    key_id: *const c_char,
    out_json: *mut *mut c_char,
) -> mws_status {
    // SAFETY: the contract above.
    unsafe {
        admin_call(gateway, out_json, || {
            let id = str_arg(key_id, "key_id")?;
            Ok((AdminOp::RevokeKey, id, Value::Null))
        })
    }
}

/// The account's usage ledger and totals (as `GET /admin/accounts/{id}/usage`).
///
/// Ownership, threading: as for `mws_admin_create_account`.
///
/// # Safety
/// As for `mws_admin_create_account`.
#[no_mangle]
pub unsafe extern "C" fn mws_admin_usage(
    gateway: *const mws_gateway,
    account_id: *const c_char,
    out_json: *mut *mut c_char,
) -> mws_status {
    // SAFETY: the contract above.
    unsafe {
        admin_call(gateway, out_json, || {
            let id = str_arg(account_id, "account_id")?;
            Ok((AdminOp::Usage, id, Value::Null))
        })
    }
}

/// Every deployment of the profiles with its health (as `GET
/// /admin/deployments`): `{"object":"list","data":[{"id","upstream",
/// "upstream_model","state","cooldown_until","circuit_open_until",
/// "in_flight","requests","errors","latency_ms","error_rate",...}]}`, `state`
/// one of `healthy`, `cooling_down`, `circuit_open`, `half_open`.
///
/// Ownership, threading: as for `mws_admin_create_account`.
///
/// # Safety
/// `gateway` is NULL or a live handle; `out_json` is NULL or valid for
/// writing a pointer.
#[no_mangle]
pub unsafe extern "C" fn mws_admin_deployments(
    gateway: *const mws_gateway,
    out_json: *mut *mut c_char,
) -> mws_status {
    // SAFETY: the contract above.
    unsafe {
        admin_call(gateway, out_json, || {
            Ok((AdminOp::Deployments, "", Value::Null))
        })
    }
}

/// Any admin operation by its name, as the Python and Node packages call them:
/// `create_account`, `list_accounts`, `account`, `add_credits`, `set_plan`,
/// `create_key`, `list_keys`, `set_key_throttle`, `revoke_key`, `usage`,
/// `deployments`. `id`
/// is the account or key id for the operations that take one (NULL for the
/// others); `body_json` is the admin API's JSON body (NULL for `{}`), as the
/// typed `mws_admin_*` functions above build it. An unknown name, a missing id
/// or a body that is not JSON text is `MWS_INVALID_ARGUMENT`.
///
/// Ownership, threading: as for `mws_admin_create_account`.
///
/// # Safety
/// As for `mws_admin_create_account`; `op`, `id` and `body_json` are NULL or
/// NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn mws_admin(
    gateway: *const mws_gateway,
    op: *const c_char,
    id: *const c_char,
    body_json: *const c_char,
    out_json: *mut *mut c_char,
) -> mws_status {
    // SAFETY: the contract above.
    unsafe {
        admin_call(gateway, out_json, || {
            let name = str_arg(op, "op")?;
            let op = AdminOp::from_name(name)
                .ok_or_else(|| Failure::argument(format!("unknown admin operation {name:?}")))?;
            let id = match op.id() {
                Some(_) => str_arg(id, "id")?,
                None => opt_str_arg(id, "id")?.unwrap_or_default(),
            };
            let body = if body_json.is_null() {
                Value::Object(Map::new())
            } else {
                json_arg(body_json, "body_json")?
            };
            Ok((op, id, body))
        })
    }
}
