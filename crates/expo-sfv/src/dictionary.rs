use std::{fmt, str::FromStr};

use crate::{Error, Item, MAX_HEADER_LEN, MAX_MEMBERS};

/// An Expo SFV dictionary: ordered members with unique keys whose values are
/// strings, integers, decimals or booleans, without parameters.
///
/// Parsing follows RFC 8941: a key seen twice keeps its first position and
/// its last value. Serialization is canonical (`a=1, b, c="x"`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Dictionary {
    members: Vec<(String, Item)>,
}

impl Dictionary {
    /// An empty dictionary.
    pub fn new() -> Self {
        Dictionary::default()
    }

    /// Parses a header value strictly: anything outside Expo SFV is an
    /// error naming the offending member.
    pub fn parse(input: &str) -> Result<Self, Error> {
        check_len(input)?;
        let parsed: sfv::Dictionary = sfv::Parser::new(input)
            .with_version(sfv::Version::Rfc8941)
            .parse()
            .map_err(|e| Error::Syntax(e.to_string()))?;
        if parsed.len() > MAX_MEMBERS {
            return Err(Error::TooManyMembers {
                count: parsed.len(),
                max: MAX_MEMBERS,
            });
        }
        let members = parsed
            .iter()
            .map(|(key, entry)| {
                let key = key.as_str();
                let item = match entry {
                    sfv::ListEntry::InnerList(_) => {
                        return Err(Error::NotAllowed {
                            key: key.to_owned(),
                            found: "an inner list",
                        });
                    }
                    sfv::ListEntry::Item(item) if !item.params.is_empty() => {
                        return Err(Error::NotAllowed {
                            key: key.to_owned(),
                            found: "a parameter",
                        });
                    }
                    sfv::ListEntry::Item(item) => Item::from_bare(key, &item.bare_item)?,
                };
                Ok((key.to_owned(), item))
            })
            .collect::<Result<_, _>>()?;
        Ok(Dictionary { members })
    }

    /// The value of `key`.
    pub fn get(&self, key: &str) -> Option<&Item> {
        self.members.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    /// Sets `key` (replacing its value in place if present, else appending),
    /// after checking the key and the value can be written.
    pub fn insert(&mut self, key: impl Into<String>, item: impl Into<Item>) -> Result<(), Error> {
        let key = key.into();
        let item = item.into();
        if sfv::KeyRef::from_str(&key).is_err() {
            return Err(Error::InvalidKey(key));
        }
        item.validate(&key)?;
        if let Some(slot) = self.members.iter_mut().find(|(k, _)| *k == key) {
            slot.1 = item;
        } else {
            if self.members.len() == MAX_MEMBERS {
                return Err(Error::TooManyMembers {
                    count: MAX_MEMBERS + 1,
                    max: MAX_MEMBERS,
                });
            }
            self.members.push((key, item));
        }
        Ok(())
    }

    /// Removes `key`, returning its value.
    pub fn remove(&mut self, key: &str) -> Option<Item> {
        let at = self.members.iter().position(|(k, _)| k == key)?;
        Some(self.members.remove(at).1)
    }

    /// The members in order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (&str, &Item)> {
        self.members.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// How many members there are.
    pub fn len(&self) -> usize {
        self.members.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }

    /// The canonical header value; empty for an empty dictionary.
    pub fn to_header_value(&self) -> String {
        let mut out = String::new();
        let mut ser = sfv::DictSerializer::with_buffer(&mut out);
        for (key, item) in &self.members {
            // Keys and items were validated on the way in.
            if let (Ok(key), Some(bare)) = (sfv::KeyRef::from_str(key), item.to_ref()) {
                ser.bare_item(key, bare);
            }
        }
        let _ = ser.finish();
        out
    }
}

impl fmt::Display for Dictionary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_header_value())
    }
}

impl FromStr for Dictionary {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        Dictionary::parse(s)
    }
}

impl<'a> IntoIterator for &'a Dictionary {
    type Item = (&'a str, &'a Item);
    type IntoIter = Box<dyn Iterator<Item = (&'a str, &'a Item)> + 'a>;

    fn into_iter(self) -> Self::IntoIter {
        Box::new(self.iter())
    }
}

pub(crate) fn check_len(input: &str) -> Result<(), Error> {
    if input.len() > MAX_HEADER_LEN {
        return Err(Error::TooLong {
            len: input.len(),
            max: MAX_HEADER_LEN,
        });
    }
    Ok(())
}

/// Parses an SFV list whose members are all strings, such as
/// `expo-recent-failed-update-ids: "0754dad0-…", "9a1e…"`.
pub fn parse_string_list(input: &str) -> Result<Vec<String>, Error> {
    check_len(input)?;
    let parsed: sfv::List = sfv::Parser::new(input)
        .with_version(sfv::Version::Rfc8941)
        .parse()
        .map_err(|e| Error::Syntax(e.to_string()))?;
    if parsed.len() > MAX_MEMBERS {
        return Err(Error::TooManyMembers {
            count: parsed.len(),
            max: MAX_MEMBERS,
        });
    }
    parsed
        .iter()
        .enumerate()
        .map(|(index, entry)| {
            let not_allowed = |found| Error::NotAllowed {
                key: format!("#{index}"),
                found,
            };
            match entry {
                sfv::ListEntry::InnerList(_) => Err(not_allowed("an inner list")),
                sfv::ListEntry::Item(item) if !item.params.is_empty() => {
                    Err(not_allowed("a parameter"))
                }
                sfv::ListEntry::Item(item) => match &item.bare_item {
                    sfv::BareItem::String(s) => Ok(s.as_str().to_owned()),
                    _ => Err(not_allowed("a member that is not a string")),
                },
            }
        })
        .collect()
}
