//! Reading request input the way Magento's `ServiceInputProcessor` does: keys in snake_case or
//! camelCase, unknown keys refused, scalars cast to the declared type (numeric strings are
//! numbers, `"1"`/`1` are booleans), anything else a 400.

use crate::errors::{ApiError, ApiResult};
use crate::search_criteria::snake;
use serde_json::{Map, Value};

/// Parses an `int` path parameter.
pub fn path_int(s: &str) -> ApiResult<i64> {
    s.trim()
        .parse::<i64>()
        .map_err(|_| ApiError::invalid_type(s, "int"))
}

/// A JSON object of the request, read with Magento's key rules.
#[derive(Debug, Clone, Copy)]
pub struct Obj<'a> {
    map: &'a Map<String, Value>,
}

fn show(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

impl<'a> Obj<'a> {
    /// The object of `v`; an array or a scalar where an object is declared is a type error.
    pub fn of(v: &'a Value, type_name: &str) -> ApiResult<Obj<'a>> {
        match v {
            Value::Object(map) => Ok(Obj { map }),
            other => Err(ApiError::invalid_type(&show(other), type_name)),
        }
    }

    /// Refuses keys that the data interface does not declare (`known` is snake_case).
    pub fn check_known(&self, known: &[&str]) -> ApiResult<()> {
        for k in self.map.keys() {
            if !known.contains(&snake(k).as_str()) {
                return Err(ApiError::not_supported(k));
            }
        }
        Ok(())
    }

    /// The raw value under `key` (snake_case) or its camelCase alias; null counts as absent.
    pub fn get(&self, key: &str) -> Option<&'a Value> {
        self.map
            .iter()
            .find(|(k, _)| k.as_str() == key || snake(k) == key)
            .map(|(_, v)| v)
            .filter(|v| !v.is_null())
    }

    /// Whether the key is present (even as null).
    pub fn has(&self, key: &str) -> bool {
        self.map.keys().any(|k| k == key || snake(k) == key)
    }

    /// A `string` value (numbers and booleans are cast, as PHP does).
    pub fn str(&self, key: &str) -> ApiResult<Option<String>> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(Value::Number(n)) => Ok(Some(n.to_string())),
            Some(Value::Bool(b)) => Ok(Some(if *b { "1".into() } else { String::new() })),
            Some(other) => Err(ApiError::invalid_type(&show(other), "string")),
        }
    }

    /// An `int` value (numeric strings are cast).
    pub fn int(&self, key: &str) -> ApiResult<Option<i64>> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Number(n)) => n
                .as_i64()
                .or_else(|| n.as_f64().filter(|f| f.fract() == 0.0).map(|f| f as i64))
                .map(Some)
                .ok_or_else(|| ApiError::invalid_type(&n.to_string(), "int")),
            Some(Value::String(s)) => s
                .trim()
                .parse::<i64>()
                .map(Some)
                .map_err(|_| ApiError::invalid_type(s, "int")),
            Some(Value::Bool(b)) => Ok(Some(i64::from(*b))),
            Some(other) => Err(ApiError::invalid_type(&show(other), "int")),
        }
    }

    /// A non-negative `int` value that fits an id.
    pub fn id(&self, key: &str) -> ApiResult<Option<u32>> {
        match self.int(key)? {
            None => Ok(None),
            Some(v) => u32::try_from(v)
                .map(Some)
                .map_err(|_| ApiError::invalid_value(key, &v.to_string())),
        }
    }

    /// A `float` value (numeric strings are cast).
    pub fn num(&self, key: &str) -> ApiResult<Option<f64>> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Number(n)) => Ok(n.as_f64()),
            Some(Value::String(s)) => s
                .trim()
                .parse::<f64>()
                .map(Some)
                .map_err(|_| ApiError::invalid_type(s, "float")),
            Some(other) => Err(ApiError::invalid_type(&show(other), "float")),
        }
    }

    /// A `bool` value (`1`/`0`, `"1"`/`"0"`, `"true"`/`"false"` are cast).
    pub fn bool(&self, key: &str) -> ApiResult<Option<bool>> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(Value::Number(n)) => Ok(Some(n.as_f64().unwrap_or(0.0) != 0.0)),
            Some(Value::String(s)) => match s.trim().to_ascii_lowercase().as_str() {
                "1" | "true" => Ok(Some(true)),
                "0" | "false" | "" => Ok(Some(false)),
                _ => Err(ApiError::invalid_type(s, "bool")),
            },
            Some(other) => Err(ApiError::invalid_type(&show(other), "bool")),
        }
    }

    /// A nested object.
    pub fn obj(&self, key: &str, type_name: &str) -> ApiResult<Option<Obj<'a>>> {
        self.get(key).map(|v| Obj::of(v, type_name)).transpose()
    }

    /// An array value.
    pub fn arr(&self, key: &str) -> ApiResult<Option<&'a Vec<Value>>> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Array(a)) => Ok(Some(a)),
            Some(other) => Err(ApiError::invalid_type(&show(other), "array")),
        }
    }

    /// An array of strings (`street`).
    pub fn str_list(&self, key: &str) -> ApiResult<Option<Vec<String>>> {
        let Some(a) = self.arr(key)? else {
            return Ok(None);
        };
        a.iter()
            .map(|v| match v {
                Value::String(s) => Ok(s.clone()),
                Value::Number(n) => Ok(n.to_string()),
                other => Err(ApiError::invalid_type(&show(other), "string")),
            })
            .collect::<ApiResult<Vec<_>>>()
            .map(Some)
    }
}

/// The body as an object of named service arguments.
pub fn body(v: &Value) -> ApiResult<Obj<'_>> {
    match v {
        Value::Object(map) => Ok(Obj { map }),
        // A JSON scalar or array carries no named argument: the first required one is missing.
        _ => Err(ApiError::new(400, "Decoding error.")),
    }
}
