//! Reading a frame's JSON object for `-Y` without building what the expression does not
//! look at: a serde visitor guided by the expression's paths keeps the members on a path
//! (as `serde_json::Value`) and steps over the others (`IgnoredAny`: no string, no number,
//! no nested value is allocated), base64 bodies and the extFields the expression does not
//! name included.

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

/// The members the expression needs, as a tree of keys; `whole` keeps the value entire (a
/// path ends there).
#[derive(Clone, Debug, Default)]
pub(super) struct Need {
    children: BTreeMap<String, Need>,
    whole: bool,
}

impl Need {
    pub(super) fn add(&mut self, path: &[String]) {
        match path.split_first() {
            None => self.whole = true,
            Some((k, rest)) => self.children.entry(k.clone()).or_default().add(rest),
        }
    }

    /// The frame object `json` with only the needed members (arrays kept, with the
    /// needed members of each element).
    pub(super) fn read(&self, json: &[u8]) -> Option<Value> {
        let mut de = serde_json::Deserializer::from_slice(json);
        self.deserialize(&mut de).ok()
    }
}

impl<'de> DeserializeSeed<'de> for &Need {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        if self.whole {
            return serde::Deserialize::deserialize(d);
        }
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for &Need {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<Value, A::Error> {
        let mut out = Map::new();
        while let Some(k) = m.next_key::<std::borrow::Cow<'de, str>>()? {
            match self.children.get(k.as_ref()) {
                Some(child) => {
                    let v = m.next_value_seed(child)?;
                    out.insert(k.into_owned(), v);
                }
                None => {
                    m.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(Value::Object(out))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut s: A) -> Result<Value, A::Error> {
        let mut out = Vec::new();
        while let Some(v) = s.next_element_seed(self)? {
            out.push(v);
        }
        Ok(Value::Array(out))
    }

    // A scalar where the path wants members: it has none (the path reaches nothing).
    fn visit_bool<E>(self, _: bool) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_i64<E>(self, _: i64) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_u64<E>(self, _: u64) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_f64<E>(self, _: f64) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_str<E>(self, _: &str) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
}
