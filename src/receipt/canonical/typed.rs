//! RFC 8785 canonical JSON written straight from a `Serialize` value (a receipt, a map of
//! digests), with the same bytes as making it a `serde_json::Value` and writing that with
//! [`super::canonical_json`], but without building the value: signing a receipt that way cost
//! a hook call about a thousand allocations.
//!
//! An object's members are written to a scratch buffer as they come, then copied out in
//! canonical order. Numbers follow [`super::write_number`]'s rule: integers up to 2^53 as
//! themselves, anything else (a fraction, a larger integer) in ECMAScript's shortest form, as
//! `serde_json` would hold it (a non-finite float becomes `null`).

use std::ops::Range;

use serde::ser::{self, Serialize};

use super::{exact_integer, utf16_order, write_number, write_string};
use crate::receipt::error::ReceiptError;

/// Canonical bytes of `value`, and whether every number in it is written as itself (so that
/// the bytes read back as `value`).
pub(crate) fn to_canonical<T: Serialize + ?Sized>(
    value: &T,
    what: &str,
) -> Result<(Vec<u8>, bool), ReceiptError> {
    let writer = write(value, what, false)?;
    Ok((writer.out, writer.numbers_canonical))
}

/// A member of an object: its key and its value's canonical bytes.
pub(crate) type Member = (String, Vec<u8>);

/// The canonical bytes of each member of `value`, which must serialise as an object (a
/// struct or a map), in the order they come; and whether every number is written as itself.
pub(crate) fn member_bytes<T: Serialize + ?Sized>(
    value: &T,
    what: &str,
) -> Result<(Vec<Member>, bool), ReceiptError> {
    let writer = write(value, what, true)?;
    match writer.kept {
        Some(members) => Ok((members, writer.numbers_canonical)),
        None => Err(canonical_error(what, "it is not a JSON object".to_string())),
    }
}

fn write<T: Serialize + ?Sized>(
    value: &T,
    what: &str,
    keep_members: bool,
) -> Result<Writer, ReceiptError> {
    let mut writer = Writer::new(keep_members);
    value
        .serialize(&mut writer)
        .map_err(|Error(message)| canonical_error(what, message))?;
    Ok(writer)
}

fn canonical_error(what: &str, message: String) -> ReceiptError {
    ReceiptError::Canonical {
        what: what.to_string(),
        message,
    }
}

#[derive(Debug)]
struct Error(String);

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

impl ser::Error for Error {
    fn custom<T: std::fmt::Display>(message: T) -> Self {
        Error(message.to_string())
    }
}

struct Writer {
    out: Vec<u8>,
    numbers_canonical: bool,
    /// How many objects are open.
    depth: usize,
    /// Whether to keep the outermost object's members, and then those members.
    keep_members: bool,
    kept: Option<Vec<Member>>,
}

impl Writer {
    fn new(keep_members: bool) -> Writer {
        Writer {
            out: Vec::with_capacity(if keep_members { 8192 } else { 256 }),
            numbers_canonical: true,
            depth: 0,
            keep_members,
            kept: None,
        }
    }

    fn unsigned(&mut self, n: u64) -> Result<(), Error> {
        self.number(&serde_json::Number::from(n))
    }

    fn signed(&mut self, n: i64) -> Result<(), Error> {
        self.number(&serde_json::Number::from(n))
    }

    /// `{"Variant":`, the start of a variant with data.
    fn open_variant(&mut self, variant: &str) {
        self.out.push(b'{');
        write_string(variant, &mut self.out);
        self.out.push(b':');
    }

    fn number(&mut self, number: &serde_json::Number) -> Result<(), Error> {
        self.numbers_canonical &= exact_integer(number).is_some();
        write_number(number, &mut self.out).map_err(|error| Error(error.to_string()))
    }
}

/// An object: `{`, then each member written as it comes (`"key":value`, comma-separated);
/// members that did not come in canonical order are put in it by [`Members::finish`]. A JSON
/// map's keys come sorted (unless one holds a character from U+E000 up), so nested objects are
/// written once, not copied at every level.
struct Members<'w> {
    writer: &'w mut Writer,
    /// Where the object's `{` is.
    start: usize,
    /// Each member's key and where its value was written.
    entries: Vec<(String, Range<usize>)>,
    /// Whether the members came in canonical order so far.
    in_order: bool,
    /// The key of a map entry whose value has not come yet.
    key: Option<String>,
}

impl<'w> Members<'w> {
    fn new(writer: &'w mut Writer) -> Self {
        let start = writer.out.len();
        writer.out.push(b'{');
        writer.depth += 1;
        Members {
            writer,
            start,
            entries: Vec::new(),
            in_order: true,
            key: None,
        }
    }

    fn member<T: Serialize + ?Sized>(&mut self, key: String, value: &T) -> Result<(), Error> {
        if let Some((last, _)) = self.entries.last() {
            self.in_order &= utf16_order(last, &key).is_lt();
            self.writer.out.push(b',');
        }
        write_string(&key, &mut self.writer.out);
        self.writer.out.push(b':');
        let from = self.writer.out.len();
        value.serialize(&mut *self.writer)?;
        self.entries.push((key, from..self.writer.out.len()));
        Ok(())
    }

    /// Closes the object, its members put in canonical order if they did not come in it.
    fn finish(mut self) -> Result<&'w mut Writer, Error> {
        self.writer.depth -= 1;
        let keep = self.writer.depth == 0 && self.writer.keep_members;
        if self.in_order && !keep {
            self.writer.out.push(b'}');
            return Ok(self.writer);
        }
        let written = self.writer.out.split_off(self.start);
        let value = |range: &Range<usize>| {
            written
                .get(range.start - self.start..range.end - self.start)
                .unwrap_or_default()
        };
        if keep {
            let members = self
                .entries
                .iter()
                .map(|(key, range)| (key.clone(), value(range).to_vec()));
            self.writer.kept = Some(members.collect());
        }
        self.entries.sort_by(|a, b| utf16_order(&a.0, &b.0));
        let out = &mut self.writer.out;
        out.reserve(written.len() + 1);
        out.push(b'{');
        for (index, (key, range)) in self.entries.iter().enumerate() {
            if index > 0 {
                out.push(b',');
            }
            write_string(key, out);
            out.push(b':');
            out.extend_from_slice(value(range));
        }
        out.push(b'}');
        Ok(self.writer)
    }
}

/// A sequence: `[`, items separated by `,`, `]`.
struct Items<'w> {
    writer: &'w mut Writer,
    first: bool,
}

impl Items<'_> {
    fn item<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        if !self.first {
            self.writer.out.push(b',');
        }
        self.first = false;
        value.serialize(&mut *self.writer)
    }

    fn finish(self) -> Result<(), Error> {
        self.writer.out.push(b']');
        Ok(())
    }
}

/// `{"Variant":…}`, as serde_json writes a variant with data.
struct Variant<I> {
    inner: I,
}

/// The narrower integers, written as the 64-bit ones they widen to.
macro_rules! widened {
    ($($method:ident($ty:ty) => $via:ident),*) => {
        $(
            fn $method(self, v: $ty) -> Result<(), Error> {
                self.$via(v.into())
            }
        )*
    };
}

impl<'w> ser::Serializer for &'w mut Writer {
    type Ok = ();
    type Error = Error;
    type SerializeSeq = Items<'w>;
    type SerializeTuple = Items<'w>;
    type SerializeTupleStruct = Items<'w>;
    type SerializeTupleVariant = Variant<Items<'w>>;
    type SerializeMap = Members<'w>;
    type SerializeStruct = Members<'w>;
    type SerializeStructVariant = Variant<Members<'w>>;

    fn serialize_bool(self, v: bool) -> Result<(), Error> {
        self.out
            .extend_from_slice(if v { b"true" } else { b"false" });
        Ok(())
    }

    widened!(
        serialize_i8(i8) => signed,
        serialize_i16(i16) => signed,
        serialize_i32(i32) => signed,
        serialize_u8(u8) => unsigned,
        serialize_u16(u16) => unsigned,
        serialize_u32(u32) => unsigned
    );

    fn serialize_i64(self, v: i64) -> Result<(), Error> {
        self.signed(v)
    }

    fn serialize_i128(self, v: i128) -> Result<(), Error> {
        match i64::try_from(v) {
            Ok(v) => self.signed(v),
            Err(_) => self.serialize_u128(u128::try_from(v).map_err(ser::Error::custom)?),
        }
    }

    fn serialize_u64(self, v: u64) -> Result<(), Error> {
        self.unsigned(v)
    }

    fn serialize_u128(self, v: u128) -> Result<(), Error> {
        let v = u64::try_from(v).map_err(|_| Error(format!("{v} is out of JSON's range")))?;
        self.unsigned(v)
    }

    fn serialize_f32(self, v: f32) -> Result<(), Error> {
        self.serialize_f64(v.into())
    }

    fn serialize_f64(self, v: f64) -> Result<(), Error> {
        match serde_json::Number::from_f64(v) {
            Some(number) => self.number(&number),
            None => self.serialize_unit(),
        }
    }

    fn serialize_char(self, v: char) -> Result<(), Error> {
        self.serialize_str(v.encode_utf8(&mut [0; 4]))
    }

    fn serialize_str(self, v: &str) -> Result<(), Error> {
        write_string(v, &mut self.out);
        Ok(())
    }

    fn serialize_bytes(self, v: &[u8]) -> Result<(), Error> {
        let mut items = self.serialize_seq(Some(v.len()))?;
        for byte in v {
            items.item(byte)?;
        }
        items.finish()
    }

    fn serialize_none(self) -> Result<(), Error> {
        self.serialize_unit()
    }

    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<(), Error> {
        value.serialize(self)
    }

    fn serialize_unit(self) -> Result<(), Error> {
        self.out.extend_from_slice(b"null");
        Ok(())
    }

    fn serialize_unit_struct(self, _: &'static str) -> Result<(), Error> {
        self.serialize_unit()
    }

    fn serialize_unit_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
    ) -> Result<(), Error> {
        self.serialize_str(variant)
    }

    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        value.serialize(self)
    }

    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        let mut members = Members::new(self);
        members.member(variant.to_string(), value)?;
        members.finish().map(drop)
    }

    fn serialize_seq(self, _: Option<usize>) -> Result<Items<'w>, Error> {
        self.out.push(b'[');
        Ok(Items {
            writer: self,
            first: true,
        })
    }

    fn serialize_tuple(self, len: usize) -> Result<Items<'w>, Error> {
        self.serialize_seq(Some(len))
    }

    fn serialize_tuple_struct(self, _: &'static str, len: usize) -> Result<Items<'w>, Error> {
        self.serialize_seq(Some(len))
    }

    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        _: usize,
    ) -> Result<Variant<Items<'w>>, Error> {
        // `{"Variant":[` now; the items; `]}` at the end. One member, so nothing to sort.
        self.open_variant(variant);
        self.out.push(b'[');
        Ok(Variant {
            inner: Items {
                writer: self,
                first: true,
            },
        })
    }

    fn serialize_map(self, _: Option<usize>) -> Result<Members<'w>, Error> {
        Ok(Members::new(self))
    }

    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Members<'w>, Error> {
        Ok(Members::new(self))
    }

    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        _: usize,
    ) -> Result<Variant<Members<'w>>, Error> {
        self.open_variant(variant);
        Ok(Variant {
            inner: Members::new(self),
        })
    }
}

/// serde asks for a sequence's two methods under three traits.
macro_rules! items {
    ($trait:ident, $method:ident) => {
        impl ser::$trait for Items<'_> {
            type Ok = ();
            type Error = Error;

            fn $method<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
                self.item(value)
            }

            fn end(self) -> Result<(), Error> {
                self.finish()
            }
        }
    };
}

items!(SerializeSeq, serialize_element);
items!(SerializeTuple, serialize_element);
items!(SerializeTupleStruct, serialize_field);

impl ser::SerializeTupleVariant for Variant<Items<'_>> {
    type Ok = ();
    type Error = Error;

    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        self.inner.item(value)
    }

    fn end(self) -> Result<(), Error> {
        self.inner.writer.out.extend_from_slice(b"]}");
        Ok(())
    }
}

impl ser::SerializeMap for Members<'_> {
    type Ok = ();
    type Error = Error;

    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), Error> {
        // serde_json takes string keys only (numbers it quotes; none are used here).
        match serde_json::to_value(key) {
            Ok(serde_json::Value::String(key)) => {
                self.key = Some(key);
                Ok(())
            }
            _ => Err(Error("a map key must be a string".to_string())),
        }
    }

    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        let key = self
            .key
            .take()
            .ok_or_else(|| Error("a map value came without its key".to_string()))?;
        self.member(key, value)
    }

    fn end(self) -> Result<(), Error> {
        self.finish().map(drop)
    }
}

impl ser::SerializeStruct for Members<'_> {
    type Ok = ();
    type Error = Error;

    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        self.member(key.to_string(), value)
    }

    fn end(self) -> Result<(), Error> {
        self.finish().map(drop)
    }
}

impl ser::SerializeStructVariant for Variant<Members<'_>> {
    type Ok = ();
    type Error = Error;

    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        self.inner.member(key.to_string(), value)
    }

    fn end(self) -> Result<(), Error> {
        self.inner.finish()?.out.push(b'}');
        Ok(())
    }
}
