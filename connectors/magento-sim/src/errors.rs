//! Magento-shaped error answers: `{"message": "...", "parameters": ...}` with the HTTP status
//! Magento's `ErrorProcessor` maps each exception to.
//!
//! Messages are the raw, untranslated phrases with `%name` / `%1` placeholders; `parameters` is
//! an object for named placeholders, an array for positional ones, and absent when empty.

use crate::json_out::JsonOut;
use std::borrow::Cow;

/// A placeholder value.
#[derive(Debug, Clone, PartialEq)]
pub enum ParamValue {
    /// A string value.
    Str(String),
    /// An integer value (Magento passes ids through uncast, e.g. `"fieldValue": 999`).
    Int(i64),
}

impl From<&str> for ParamValue {
    fn from(v: &str) -> Self {
        ParamValue::Str(v.to_string())
    }
}

impl From<String> for ParamValue {
    fn from(v: String) -> Self {
        ParamValue::Str(v)
    }
}

impl From<i64> for ParamValue {
    fn from(v: i64) -> Self {
        ParamValue::Int(v)
    }
}

/// The `parameters` member of an error body.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Params {
    /// No placeholders: the member is omitted.
    #[default]
    None,
    /// Named placeholders (`%fieldName`): a JSON object.
    Named(Vec<(&'static str, ParamValue)>),
    /// Positional placeholders (`%1`): a JSON array.
    Positional(Vec<ParamValue>),
}

/// An error answer: status code and Magento error body.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    /// HTTP status.
    pub status: u16,
    /// The message, placeholders left in.
    pub message: Cow<'static, str>,
    /// The placeholder values.
    pub params: Params,
    /// Whether to add `"trace": null` (Magento's backpressure 429 answer has it).
    pub trace_null: bool,
}

/// The result type of route handlers.
pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    /// An error with a message and no parameters.
    pub fn new(status: u16, message: impl Into<Cow<'static, str>>) -> Self {
        ApiError {
            status,
            message: message.into(),
            params: Params::None,
            trace_null: false,
        }
    }

    /// Adds named parameters.
    pub fn named(mut self, params: Vec<(&'static str, ParamValue)>) -> Self {
        self.params = Params::Named(params);
        self
    }

    /// 404 for an unknown route, an unknown store code or a method the route does not declare.
    pub fn no_route() -> Self {
        Self::new(404, "Request does not match any route.")
    }

    /// 401 for a missing, invalid or expired token (the ACL check fails for a guest).
    pub fn not_authorized(resource: &str) -> Self {
        Self::new(401, "The consumer isn't authorized to access %resources.")
            .named(vec![("resources", resource.into())])
    }

    /// 401 for bad admin credentials or a locked account.
    pub fn invalid_login() -> Self {
        Self::new(
            401,
            "The account sign-in was incorrect or your account is disabled temporarily. Please wait and try again later.",
        )
    }

    /// 400 for `GET /rest/all/V1/...`.
    pub fn get_on_all() -> Self {
        Self::new(400, "Cannot perform GET operation with store code 'all'")
    }

    /// 400 `"%fieldName" is required. Enter and try again.`
    pub fn required(field: &str) -> Self {
        Self::new(400, "\"%fieldName\" is required. Enter and try again.")
            .named(vec![("fieldName", field.into())])
    }

    /// 400 for an input key the data interface does not declare.
    pub fn not_supported(field: &str) -> Self {
        Self::new(
            400,
            "\"%fieldName\" is not supported. Correct the field name and try again.",
        )
        .named(vec![("fieldName", field.into())])
    }

    /// 400 for a value of the wrong type; Magento renders this message before throwing.
    pub fn invalid_type(value: &str, expected: &str) -> Self {
        Self::new(
            400,
            format!(
                "The \"{value}\" value's type is invalid. The \"{expected}\" type was expected. Verify and try again."
            ),
        )
    }

    /// 400 `Invalid value of "%value" provided for the %fieldName field.`
    pub fn invalid_value(field: &str, value: &str) -> Self {
        Self::new(
            400,
            "Invalid value of \"%value\" provided for the %fieldName field.",
        )
        .named(vec![("value", value.into()), ("fieldName", field.into())])
    }

    /// 404 `No such entity with %fieldName = %fieldValue` (customers, categories, addresses...).
    pub fn no_such_entity(field: &str, value: impl Into<ParamValue>) -> Self {
        Self::new(404, "No such entity with %fieldName = %fieldValue").named(vec![
            ("fieldName", field.into()),
            ("fieldValue", value.into()),
        ])
    }

    /// 404 for a missing order, invoice, shipment or order item.
    pub fn entity_not_found() -> Self {
        Self::new(
            404,
            "The entity that was requested doesn't exist. Verify the entity and try again.",
        )
    }

    /// 404 for `GET /V1/products/{sku}` with an unknown SKU.
    pub fn product_not_found() -> Self {
        Self::new(
            404,
            "The product that was requested doesn't exist. Verify the product and try again.",
        )
    }

    /// 400 for a sort direction other than ASC/DESC.
    pub fn bad_sort_direction() -> Self {
        let mut e = Self::new(
            400,
            "The sort order has to be specified as %1 for ascending order or %2 for descending order.",
        );
        e.params = Params::Positional(vec!["ASC".into(), "DESC".into()]);
        e
    }

    /// 400 `An ID is needed. Set the ID and try again.` (an id of 0).
    pub fn id_needed() -> Self {
        Self::new(400, "An ID is needed. Set the ID and try again.")
    }

    /// 500 as Magento masks unexpected exceptions (SQL errors on unknown columns, ...) outside
    /// developer mode.
    pub fn internal(report: u64) -> Self {
        Self::new(
            500,
            format!(
                "Internal Error. Details are available in Magento log file. Report ID: webapi-{report:013x}"
            ),
        )
    }

    /// 429 as the backpressure limiter answers.
    pub fn too_many_requests() -> Self {
        let mut e = Self::new(429, "Too Many Requests");
        e.trace_null = true;
        e
    }

    /// 503 as a host in maintenance or an overloaded front answers.
    pub fn service_unavailable() -> Self {
        Self::new(503, "Service Unavailable")
    }

    /// The JSON body.
    pub fn body(&self) -> String {
        let mut o = JsonOut::with_capacity(128);
        o.begin_obj().f_str("message", &self.message);
        match &self.params {
            Params::None => {}
            Params::Named(p) if p.is_empty() => {}
            Params::Positional(p) if p.is_empty() => {}
            Params::Named(p) => {
                o.key("parameters").begin_obj();
                for (k, v) in p {
                    o.key(k);
                    write_param(&mut o, v);
                }
                o.end_obj();
            }
            Params::Positional(p) => {
                o.key("parameters").begin_arr();
                for v in p {
                    write_param(&mut o, v);
                }
                o.end_arr();
            }
        }
        if self.trace_null {
            o.f_null("trace");
        }
        o.end_obj();
        o.finish()
    }
}

impl ApiError {
    /// Adds positional parameters.
    pub fn positional(mut self, params: Vec<ParamValue>) -> Self {
        self.params = Params::Positional(params);
        self
    }
}

fn write_param(o: &mut JsonOut, v: &ParamValue) {
    match v {
        ParamValue::Str(s) => o.str(s),
        ParamValue::Int(i) => o.int(*i),
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies() {
        assert_eq!(
            ApiError::no_such_entity("customerId", 999).body(),
            r#"{"message":"No such entity with %fieldName = %fieldValue","parameters":{"fieldName":"customerId","fieldValue":999}}"#
        );
        assert_eq!(
            ApiError::bad_sort_direction().body(),
            r#"{"message":"The sort order has to be specified as %1 for ascending order or %2 for descending order.","parameters":["ASC","DESC"]}"#
        );
        assert_eq!(
            ApiError::too_many_requests().body(),
            r#"{"message":"Too Many Requests","trace":null}"#
        );
    }
}
