//! A small streaming JSON writer.
//!
//! Records live in compact Rust structs and are serialized on demand, straight into one
//! `String`, in the key order Magento's `DataObjectProcessor` emits them. Writing by hand (rather
//! than through `serde_json::Value`) keeps big pages cheap and gives exact control over Magento's
//! conventions: optional nulls omitted, required nulls written, integral floats without `.0`.

use std::fmt::Write as _;

/// Builds one JSON document into a `String`.
///
/// The writer tracks only whether a comma is due; the caller is responsible for balancing
/// `begin_*`/`end_*` calls (the route code is the only caller, and tests check the output parses).
#[derive(Debug, Default)]
pub struct JsonOut {
    buf: String,
    comma: bool,
}

impl JsonOut {
    /// A writer with some capacity reserved.
    pub fn with_capacity(cap: usize) -> Self {
        Self {
            buf: String::with_capacity(cap),
            comma: false,
        }
    }

    /// The finished document.
    pub fn finish(self) -> String {
        self.buf
    }

    fn sep(&mut self) {
        if self.comma {
            self.buf.push(',');
        }
    }

    /// Writes `"key":` inside an object.
    pub fn key(&mut self, k: &str) -> &mut Self {
        self.sep();
        write_escaped(&mut self.buf, k);
        self.buf.push(':');
        self.comma = false;
        self
    }

    /// Opens an object (as a value).
    pub fn begin_obj(&mut self) -> &mut Self {
        self.sep();
        self.buf.push('{');
        self.comma = false;
        self
    }

    /// Closes an object.
    pub fn end_obj(&mut self) -> &mut Self {
        self.buf.push('}');
        self.comma = true;
        self
    }

    /// Opens an array (as a value).
    pub fn begin_arr(&mut self) -> &mut Self {
        self.sep();
        self.buf.push('[');
        self.comma = false;
        self
    }

    /// Closes an array.
    pub fn end_arr(&mut self) -> &mut Self {
        self.buf.push(']');
        self.comma = true;
        self
    }

    /// Writes an integer value.
    pub fn int(&mut self, v: i64) -> &mut Self {
        self.sep();
        let _ = write!(self.buf, "{v}");
        self.comma = true;
        self
    }

    /// Writes a float value the way PHP's `json_encode` does: `165.0` becomes `165`.
    pub fn num(&mut self, v: f64) -> &mut Self {
        self.sep();
        write_num(&mut self.buf, v);
        self.comma = true;
        self
    }

    /// Writes a string value.
    pub fn str(&mut self, v: &str) -> &mut Self {
        self.sep();
        write_escaped(&mut self.buf, v);
        self.comma = true;
        self
    }

    /// Writes a boolean value.
    pub fn bool(&mut self, v: bool) -> &mut Self {
        self.sep();
        self.buf.push_str(if v { "true" } else { "false" });
        self.comma = true;
        self
    }

    /// Writes `null`.
    pub fn null(&mut self) -> &mut Self {
        self.sep();
        self.buf.push_str("null");
        self.comma = true;
        self
    }

    /// Writes an already serialized JSON value.
    pub fn raw(&mut self, json: &str) -> &mut Self {
        self.sep();
        self.buf.push_str(json);
        self.comma = true;
        self
    }

    /// `"k": <int>`.
    pub fn f_int(&mut self, k: &str, v: i64) -> &mut Self {
        self.key(k).int(v)
    }

    /// `"k": <number>`.
    pub fn f_num(&mut self, k: &str, v: f64) -> &mut Self {
        self.key(k).num(v)
    }

    /// `"k": "<string>"`.
    pub fn f_str(&mut self, k: &str, v: &str) -> &mut Self {
        self.key(k).str(v)
    }

    /// `"k": true|false`.
    pub fn f_bool(&mut self, k: &str, v: bool) -> &mut Self {
        self.key(k).bool(v)
    }

    /// `"k": null` (for schema-required getters that return null).
    pub fn f_null(&mut self, k: &str) -> &mut Self {
        self.key(k).null()
    }

    /// `"k": "<string>"`, omitted when `None` (optional getters returning null are dropped).
    pub fn f_opt_str(&mut self, k: &str, v: Option<&str>) -> &mut Self {
        if let Some(v) = v {
            self.f_str(k, v);
        }
        self
    }

    /// `"k": <int>`, omitted when `None`.
    pub fn f_opt_int(&mut self, k: &str, v: Option<i64>) -> &mut Self {
        if let Some(v) = v {
            self.f_int(k, v);
        }
        self
    }

    /// `"k": <number>`, omitted when `None`.
    pub fn f_opt_num(&mut self, k: &str, v: Option<f64>) -> &mut Self {
        if let Some(v) = v {
            self.f_num(k, v);
        }
        self
    }

    /// `"k": [ "a", "b" ]`.
    pub fn f_str_arr<S: AsRef<str>>(&mut self, k: &str, v: &[S]) -> &mut Self {
        self.key(k).begin_arr();
        for s in v {
            self.str(s.as_ref());
        }
        self.end_arr()
    }

    /// `"k": "<timestamp>"` in Magento's `YYYY-MM-DD HH:MM:SS` UTC format.
    pub fn f_time(&mut self, k: &str, ts: i64) -> &mut Self {
        self.key(k);
        self.sep();
        self.buf.push('"');
        crate::data::time::write_datetime(&mut self.buf, ts);
        self.buf.push('"');
        self.comma = true;
        self
    }
}

/// Appends `v` formatted like PHP `json_encode` with `serialize_precision = -1`.
pub fn write_num(buf: &mut String, v: f64) {
    if !v.is_finite() {
        // JSON has no NaN/inf; Magento cannot produce them from DECIMAL columns either.
        buf.push('0');
    } else if v.fract() == 0.0 && v.abs() < 1e15 {
        let _ = write!(buf, "{}", v as i64);
    } else {
        let _ = write!(buf, "{v}");
    }
}

/// Appends `s` as a JSON string literal.
pub fn write_escaped(buf: &mut String, s: &str) {
    buf.push('"');
    let mut start = 0;
    for (i, b) in s.bytes().enumerate() {
        let esc = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0..=0x1f => "",
            _ => continue,
        };
        buf.push_str(&s[start..i]);
        if esc.is_empty() {
            let _ = write!(buf, "\\u{b:04x}");
        } else {
            buf.push_str(esc);
        }
        start = i + 1;
    }
    buf.push_str(&s[start..]);
    buf.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_magento_numbers_and_escapes() {
        let mut o = JsonOut::default();
        o.begin_obj()
            .f_num("a", 165.0)
            .f_num("b", 22.5)
            .f_str("c", "x\"y\n\u{1}")
            .f_opt_str("d", None)
            .f_null("e")
            .end_obj();
        let s = o.finish();
        assert_eq!(s, r#"{"a":165,"b":22.5,"c":"x\"y\n\u0001","e":null}"#);
        let v: serde_json::Value = serde_json::from_str(&s).unwrap();
        assert_eq!(v["c"], "x\"y\n\u{1}");
    }
}
