//! One pass over a line that feeds the caller's type and picks out the envelope fields.
//!
//! The line's top-level map is handed to the caller's `Deserialize` through a wrapper that
//! looks at each key; the values of envelope keys are read as scalars, noted, and passed on
//! unchanged, every other value goes straight through. Nothing is buffered.

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

use serde::Deserialize;
use serde::de::value::{BorrowedStrDeserializer, MapAccessDeserializer, StringDeserializer};
use serde::de::{self, DeserializeSeed, MapAccess, Visitor};

use super::EnvelopeFields;

/// The caller's value and the envelope fields found beside it.
pub(super) struct Both<'de, T> {
    pub fields: EnvelopeFields<'de>,
    pub value: T,
}

/// Visits a line's top-level map.
pub(super) struct BothVisitor<T> {
    legacy: bool,
    marker: PhantomData<T>,
}

impl<T> BothVisitor<T> {
    pub(super) fn new(legacy: bool) -> Self {
        Self {
            legacy,
            marker: PhantomData,
        }
    }
}

impl<'de, T: Deserialize<'de>> Visitor<'de> for BothVisitor<T> {
    type Value = Both<'de, T>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        let mut fields = EnvelopeFields::default();
        let value = T::deserialize(MapAccessDeserializer::new(Tee {
            inner: map,
            fields: &mut fields,
            legacy: self.legacy,
            current: None,
        }))?;
        Ok(Both { fields, value })
    }
}

/// Which envelope field a key names.
#[derive(Debug, Clone, Copy)]
enum Slot {
    Writer,
    Seq,
    At,
    UpdatedAt,
    RecordedAt,
    CreatedAt,
}

impl Slot {
    fn of(key: &str, legacy: bool) -> Option<Slot> {
        match (legacy, key) {
            (false, "writer") => Some(Slot::Writer),
            (false, "seq") => Some(Slot::Seq),
            (false, "at") => Some(Slot::At),
            (true, "updatedAt") => Some(Slot::UpdatedAt),
            (true, "recordedAt") => Some(Slot::RecordedAt),
            (true, "createdAt") => Some(Slot::CreatedAt),
            _ => None,
        }
    }
}

struct Tee<'f, 'de, A> {
    inner: A,
    fields: &'f mut EnvelopeFields<'de>,
    legacy: bool,
    current: Option<Slot>,
}

impl<'de, A: MapAccess<'de>> MapAccess<'de> for Tee<'_, 'de, A> {
    type Error = A::Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, A::Error> {
        let Some(key) = self.inner.next_key_seed(KeySeed)? else {
            return Ok(None);
        };
        self.current = Slot::of(&key, self.legacy);
        match key {
            Cow::Borrowed(s) => seed.deserialize(BorrowedStrDeserializer::new(s)).map(Some),
            Cow::Owned(s) => seed.deserialize(StringDeserializer::new(s)).map(Some),
        }
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, A::Error> {
        let Some(slot) = self.current.take() else {
            return self.inner.next_value_seed(seed);
        };
        let scalar = self.inner.next_value_seed(ScalarSeed)?;
        let text = match &scalar {
            Scalar::Str(text) => Some(text.clone()),
            _ => None,
        };
        match slot {
            Slot::Seq => {
                self.fields.seq = match scalar {
                    Scalar::U64(n) => Some(n),
                    _ => None,
                }
            }
            Slot::Writer => self.fields.writer = text,
            Slot::At => self.fields.at = text,
            Slot::UpdatedAt => self.fields.updated_at = text,
            Slot::RecordedAt => self.fields.recorded_at = text,
            Slot::CreatedAt => self.fields.created_at = text,
        }
        scalar.feed(seed)
    }

    fn size_hint(&self) -> Option<usize> {
        self.inner.size_hint()
    }
}

/// Reads a key, borrowing it when the input allows.
struct KeySeed;

impl<'de> DeserializeSeed<'de> for KeySeed {
    type Value = Cow<'de, str>;

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_str(KeySeed)
    }
}

impl<'de> Visitor<'de> for KeySeed {
    type Value = Cow<'de, str>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a field name")
    }

    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Cow::Borrowed(v))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Cow::Owned(v.to_owned()))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok(Cow::Owned(v))
    }
}

/// The value of an envelope key: envelope fields are scalars.
enum Scalar<'de> {
    Str(Cow<'de, str>),
    U64(u64),
    I64(i64),
    F64(f64),
    Bool(bool),
    Null,
}

impl<'de> Scalar<'de> {
    /// Hands the value on to the caller's type as if it came from the line.
    fn feed<V: DeserializeSeed<'de>, E: de::Error>(self, seed: V) -> Result<V::Value, E> {
        seed.deserialize(ScalarDeserializer {
            scalar: self,
            error: PhantomData,
        })
    }
}

/// Replays a scalar like the line's own deserializer would (`Some` for options included).
struct ScalarDeserializer<'de, E> {
    scalar: Scalar<'de>,
    error: PhantomData<E>,
}

impl<'de, E: de::Error> de::Deserializer<'de> for ScalarDeserializer<'de, E> {
    type Error = E;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, E> {
        match self.scalar {
            Scalar::Str(Cow::Borrowed(s)) => visitor.visit_borrowed_str(s),
            Scalar::Str(Cow::Owned(s)) => visitor.visit_string(s),
            Scalar::U64(n) => visitor.visit_u64(n),
            Scalar::I64(n) => visitor.visit_i64(n),
            Scalar::F64(n) => visitor.visit_f64(n),
            Scalar::Bool(b) => visitor.visit_bool(b),
            Scalar::Null => visitor.visit_unit(),
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, E> {
        match self.scalar {
            Scalar::Null => visitor.visit_none(),
            _ => visitor.visit_some(self),
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, E> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, E> {
        match self.scalar {
            Scalar::Str(Cow::Borrowed(s)) => {
                BorrowedStrDeserializer::new(s).deserialize_enum(name, variants, visitor)
            }
            Scalar::Str(Cow::Owned(s)) => {
                StringDeserializer::new(s).deserialize_enum(name, variants, visitor)
            }
            _ => self.deserialize_any(visitor),
        }
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf unit unit_struct seq tuple tuple_struct map struct identifier ignored_any
    }
}

struct ScalarSeed;

impl<'de> DeserializeSeed<'de> for ScalarSeed {
    type Value = Scalar<'de>;

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(ScalarSeed)
    }
}

impl<'de> Visitor<'de> for ScalarSeed {
    type Value = Scalar<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string, number, boolean or null for an envelope field")
    }

    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Scalar::Str(Cow::Borrowed(v)))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Scalar::Str(Cow::Owned(v.to_owned())))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok(Scalar::Str(Cow::Owned(v)))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        Ok(Scalar::U64(v))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        Ok(Scalar::I64(v))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        Ok(Scalar::F64(v))
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
        Ok(Scalar::Bool(v))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Scalar::Null)
    }

    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Scalar::Null)
    }
}
