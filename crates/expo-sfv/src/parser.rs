//! Strict Expo SFV parsing on top of `sfv`'s visitor API.
//!
//! `sfv` does the RFC 8941 grammar; the visitors here keep only what Expo
//! SFV allows. Parsing goes through visitors rather than `sfv::Dictionary`
//! so that the member limit is enforced while parsing (no map is built and
//! then thrown away), the keys and strings borrow from the input until the
//! end, and a syntax error can say which member it was found in.
//!
//! A member the subset forbids does not stop the parse at once: RFC 8941
//! says a later member with the same key replaces it, so the refusal is
//! recorded with the member and reported only if it survives to the end.

use std::{borrow::Cow, convert::Infallible, fmt};

use sfv::{
    BareItemFromInput, KeyRef, StringRef,
    visitor::{
        DictionaryVisitor, EntryVisitor, Ignored, InnerListVisitor, ItemVisitor, ListVisitor,
        ParameterVisitor,
    },
};

use crate::{Error, Item, MAX_HEADER_LEN, MAX_MEMBERS, error::Near};

/// A member's value as parsed: an Expo SFV item, or what the subset refused.
type Parsed<'de> = Result<Value<'de>, &'static str>;

/// An item still borrowing from the input where it can.
#[derive(Debug)]
pub(crate) enum Value<'de> {
    Boolean(bool),
    Integer(i64),
    Decimal(sfv::Decimal),
    String(Cow<'de, StringRef>),
}

impl Value<'_> {
    pub(crate) fn into_item(self) -> Item {
        match self {
            Value::Boolean(b) => Item::Boolean(b),
            Value::Integer(i) => Item::Integer(i),
            Value::Decimal(d) => Item::Decimal(d),
            Value::String(s) => Item::String(s.as_str().to_owned()),
        }
    }

    /// The string, without copying it.
    pub(crate) fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s.as_str()),
            _ => None,
        }
    }

    pub(crate) fn type_name(&self) -> &'static str {
        match self {
            Value::Boolean(_) => "a boolean",
            Value::Integer(_) => "an integer",
            Value::Decimal(_) => "a decimal",
            Value::String(_) => "a string",
        }
    }
}

fn value(bare: BareItemFromInput<'_>) -> Parsed<'_> {
    Ok(match bare {
        BareItemFromInput::Boolean(b) => Value::Boolean(b),
        BareItemFromInput::Integer(i) => Value::Integer(i64::from(i)),
        BareItemFromInput::Decimal(d) => Value::Decimal(d),
        BareItemFromInput::String(s) => Value::String(s),
        BareItemFromInput::Token(_) => return Err("a token"),
        BareItemFromInput::ByteSequence(_) => return Err("a byte sequence"),
        // Not produced in RFC 8941 mode; refused all the same should that change.
        BareItemFromInput::Date(_) => return Err("a date"),
        BareItemFromInput::DisplayString(_) => return Err("a display string"),
    })
}

/// Refuses over-long input before anything is parsed or allocated.
pub(crate) fn check_len(input: &str) -> Result<(), Error> {
    if input.len() > MAX_HEADER_LEN {
        return Err(Error::TooLong {
            len: input.len(),
            max: MAX_HEADER_LEN,
        });
    }
    Ok(())
}

/// What the visitors gathered, kept outside them so that it survives a
/// syntax error (to name the member) or a limit (to report it as such).
#[derive(Default)]
struct State<'de> {
    members: Vec<(&'de str, Parsed<'de>)>,
    /// Lists name members by position (`#0`, `#1`…) rather than by key.
    list: bool,
    /// The member being parsed, or the last one parsed.
    current: Option<usize>,
    /// Whether `current` is still being parsed.
    open: bool,
    too_many: bool,
}

impl<'de> State<'de> {
    fn name(&self, index: usize) -> String {
        match self.members.get(index) {
            Some((key, _)) if !self.list => (*key).to_owned(),
            _ => format!("#{index}"),
        }
    }

    /// Where in the input parsing stopped, for a syntax error.
    fn near(&self) -> Option<Near> {
        let name = self.name(self.current?);
        Some(if self.open {
            Near::InMember(name)
        } else {
            Near::AfterMember(name)
        })
    }

    fn finish(self, parsed: Result<(), sfv::Error>) -> Result<Vec<(&'de str, Value<'de>)>, Error> {
        if self.too_many {
            return Err(Error::TooManyMembers { max: MAX_MEMBERS });
        }
        if let Err(err) = parsed {
            return Err(Error::Syntax {
                reason: format!("{err:#}"),
                index: err.index(),
                near: self.near(),
            });
        }
        if let Some(index) = self.members.iter().position(|(_, p)| p.is_err()) {
            let key = self.name(index);
            if let Some((_, Err(found))) = self.members.get(index) {
                return Err(Error::NotAllowed { key, found });
            }
        }
        Ok(self
            .members
            .into_iter()
            .filter_map(|(key, parsed)| Some((key, parsed.ok()?)))
            .collect())
    }

    /// Starts the member `index`.
    fn open(&mut self, index: usize) -> Member<'_, 'de> {
        self.current = Some(index);
        self.open = true;
        Member { state: self, index }
    }
}

/// Parses an Expo SFV dictionary: its members in order, duplicate keys
/// resolved as RFC 8941 says (first position, last value).
pub(crate) fn dictionary(input: &str) -> Result<Vec<(&str, Value<'_>)>, Error> {
    check_len(input)?;
    let mut state = State::default();
    let parsed = sfv::Parser::new(input)
        .with_version(sfv::Version::Rfc8941)
        .parse_dictionary_with_visitor(DictVisitor(&mut state));
    state.finish(parsed)
}

/// Parses an SFV list whose members must all be strings. Members are named
/// `#0`, `#1`… in errors.
pub(crate) fn string_list(input: &str) -> Result<Vec<String>, Error> {
    check_len(input)?;
    let mut state = State {
        list: true,
        ..State::default()
    };
    let parsed = sfv::Parser::new(input)
        .with_version(sfv::Version::Rfc8941)
        .parse_list_with_visitor(ListVisit(&mut state));
    state
        .finish(parsed)?
        .into_iter()
        .enumerate()
        .map(|(i, (_, value))| match value {
            Value::String(s) => Ok(s.as_str().to_owned()),
            other => Err(Error::NotAllowed {
                key: format!("#{i}"),
                found: other.type_name(),
            }),
        })
        .collect()
}

/// The error a visitor returns to stop `sfv`; the real reason is in [`State`].
#[derive(Debug)]
struct Stop;

impl fmt::Display for Stop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("too many members")
    }
}

impl std::error::Error for Stop {}

struct DictVisitor<'s, 'de>(&'s mut State<'de>);

impl<'de> DictionaryVisitor<'de> for DictVisitor<'_, 'de> {
    type Out = ();
    type Error = Stop;

    fn entry(&mut self, key: &'de KeyRef) -> Result<impl EntryVisitor<'de>, Stop> {
        let key = key.as_str();
        let members = &mut self.0.members;
        // RFC 8941 4.2.2: a repeated key keeps its place and takes the new value.
        let index = match members.iter().position(|(k, _)| *k == key) {
            Some(index) => index,
            None if members.len() == MAX_MEMBERS => {
                self.0.too_many = true;
                return Err(Stop);
            }
            None => {
                members.push((key, Err("nothing")));
                members.len() - 1
            }
        };
        Ok(self.0.open(index))
    }

    fn finish(self) -> Result<(), Stop> {
        Ok(())
    }
}

struct ListVisit<'s, 'de>(&'s mut State<'de>);

impl<'de> ListVisitor<'de> for ListVisit<'_, 'de> {
    type Out = ();
    type Error = Stop;

    fn entry(&mut self) -> Result<impl EntryVisitor<'de>, Stop> {
        let members = &mut self.0.members;
        if members.len() == MAX_MEMBERS {
            self.0.too_many = true;
            return Err(Stop);
        }
        members.push(("", Err("nothing")));
        let index = members.len() - 1;
        Ok(self.0.open(index))
    }

    fn finish(self) -> Result<(), Stop> {
        Ok(())
    }
}

/// The member being parsed.
struct Member<'s, 'de> {
    state: &'s mut State<'de>,
    index: usize,
}

impl<'de> Member<'_, 'de> {
    fn slot(&mut self) -> Option<&mut Parsed<'de>> {
        self.state.members.get_mut(self.index).map(|(_, p)| p)
    }
}

impl<'de> EntryVisitor<'de> for Member<'_, 'de> {
    type Error = Infallible;

    fn item(self) -> Result<impl ItemVisitor<'de>, Infallible> {
        Ok(self)
    }

    fn inner_list(mut self) -> Result<impl InnerListVisitor<'de>, Infallible> {
        if let Some(slot) = self.slot() {
            *slot = Err("an inner list");
        }
        Ok(InnerList(self))
    }
}

impl<'de> ItemVisitor<'de> for Member<'_, 'de> {
    type Out = ();
    type Error = Infallible;

    fn bare_item(
        mut self,
        bare_item: BareItemFromInput<'de>,
    ) -> Result<impl ParameterVisitor<'de, Out = ()>, Infallible> {
        if let Some(slot) = self.slot() {
            *slot = value(bare_item);
        }
        Ok(self)
    }
}

impl<'de> ParameterVisitor<'de> for Member<'_, 'de> {
    type Out = ();
    type Error = Infallible;

    fn parameter(
        &mut self,
        _key: &'de KeyRef,
        _value: BareItemFromInput<'de>,
    ) -> Result<(), Infallible> {
        // Report the value's own problem first, if it has one.
        if let Some(slot @ Ok(_)) = self.slot() {
            *slot = Err("a parameter");
        }
        Ok(())
    }

    fn finish(self) -> Result<(), Infallible> {
        self.state.open = false;
        Ok(())
    }
}

/// An inner list: already refused; `sfv` still checks its syntax.
struct InnerList<'s, 'de>(Member<'s, 'de>);

impl<'de> InnerListVisitor<'de> for InnerList<'_, 'de> {
    type Error = Infallible;

    fn item(&mut self) -> Result<impl ItemVisitor<'de>, Infallible> {
        Ok(Ignored)
    }

    fn finish(self) -> Result<impl ParameterVisitor<'de>, Infallible> {
        Ok(self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(input: &str) -> Vec<String> {
        dictionary(input)
            .unwrap()
            .into_iter()
            .map(|(k, v)| format!("{k}:{}", v.into_item()))
            .collect()
    }

    #[test]
    fn a_refused_member_replaced_later_is_not_an_error() {
        assert_eq!(keys("a=tok, b=1, a=2"), ["a:2", "b:1"]);
        assert_eq!(keys("a=(1 2);x, a=?0"), ["a:?0"]);
        let err = dictionary("a=2, b=1, a=tok").unwrap_err();
        assert_eq!(
            err,
            Error::NotAllowed {
                key: "a".into(),
                found: "a token"
            }
        );
    }

    #[test]
    fn the_value_problem_is_reported_before_its_parameters() {
        let err = dictionary("a=:aGk=:;p=1").unwrap_err();
        assert_eq!(
            err.to_string().split(':').nth(1),
            Some(
                " a byte sequence is not allowed (Expo SFV members are strings, integers, decimals or booleans, without parameters)"
            )
        );
        let err = dictionary("a=1;p=1").unwrap_err();
        assert!(matches!(
            err,
            Error::NotAllowed {
                found: "a parameter",
                ..
            }
        ));
    }

    #[test]
    fn the_first_surviving_refusal_is_reported() {
        let err = dictionary(r#"ok="x", b=tok, c=(1)"#).unwrap_err();
        assert_eq!(err.member(), Some("b"));
    }

    #[test]
    fn syntax_errors_say_where() {
        let cases: [(&str, Option<Near>, Option<usize>); 6] = [
            ("", None, None),
            ("A=1", None, Some(0)),
            (
                r#"sig, keyid="main"#,
                Some(Near::InMember("keyid".into())),
                Some(16),
            ),
            (
                "sig, keyid=1.",
                Some(Near::InMember("keyid".into())),
                Some(12),
            ),
            ("a=1, B=2", Some(Near::AfterMember("a".into())), Some(5)),
            ("a=1,", Some(Near::AfterMember("a".into())), Some(3)),
        ];
        for (input, near, index) in cases {
            match dictionary(input) {
                Ok(members) if input.is_empty() => assert!(members.is_empty()),
                Err(Error::Syntax {
                    near: got_near,
                    index: got_index,
                    reason,
                }) => {
                    assert_eq!((got_near, got_index), (near.clone(), index), "{input}");
                    assert!(!reason.contains("at index"), "{reason}");
                }
                other => panic!("{input}: {other:?}"),
            }
        }
        let err = dictionary(r#"sig, keyid="main"#).unwrap_err();
        assert_eq!(
            err.to_string(),
            r#"not a structured field value: unterminated string (in member "keyid")"#
        );
    }

    #[test]
    fn member_limit_stops_the_parse() {
        let at_limit: Vec<String> = (0..MAX_MEMBERS).map(|i| format!("k{i}")).collect();
        assert_eq!(dictionary(&at_limit.join(",")).unwrap().len(), MAX_MEMBERS);
        // Repeating a key is not a new member.
        let repeated = format!("{},k0=1", at_limit.join(","));
        assert_eq!(dictionary(&repeated).unwrap().len(), MAX_MEMBERS);
        // One more is refused even though the rest is not valid SFV: the
        // parse stopped there.
        let over = format!("{},extra,=garbage", at_limit.join(","));
        assert_eq!(
            dictionary(&over).unwrap_err(),
            Error::TooManyMembers { max: MAX_MEMBERS }
        );
        let list = vec![r#""x""#; MAX_MEMBERS + 1].join(",");
        assert_eq!(
            string_list(&list).unwrap_err(),
            Error::TooManyMembers { max: MAX_MEMBERS }
        );
    }

    #[test]
    fn list_members_are_named_by_position() {
        assert_eq!(string_list(r#""a", "b\"c""#).unwrap(), ["a", "b\"c"]);
        let not_allowed = |input| match string_list(input) {
            Err(Error::NotAllowed { key, found }) => (key, found),
            other => panic!("{input}: {other:?}"),
        };
        assert_eq!(not_allowed(r#""a", 1"#), ("#1".into(), "an integer"));
        assert_eq!(not_allowed(r#""a", "b";p"#), ("#1".into(), "a parameter"));
        assert_eq!(not_allowed(r#"("a"), "b""#), ("#0".into(), "an inner list"));
        assert_eq!(not_allowed("tok"), ("#0".into(), "a token"));
        let err = string_list(r#""a", "b"#).unwrap_err();
        assert_eq!(err.member(), Some("#1"));
    }

    #[test]
    fn length_is_checked_first() {
        let long = "a".repeat(MAX_HEADER_LEN + 1);
        assert!(matches!(dictionary(&long), Err(Error::TooLong { .. })));
        assert!(matches!(string_list(&long), Err(Error::TooLong { .. })));
        assert!(dictionary(&"a".repeat(MAX_HEADER_LEN)).is_ok());
    }
}
