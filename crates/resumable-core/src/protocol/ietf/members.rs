//! Reading a Structured Field Dictionary's known members as it is parsed,
//! with `sfv`'s visitor and nothing built: the draft's answers carry
//! `Upload-Limit` and the digest fields often, so reading them allocates
//! nothing. A key sent twice counts by its last instance (RFC 9651
//! §4.2.2), so what a member holds is judged only once the whole value
//! parsed.

use std::convert::Infallible;

use sfv::visitor::{DictionaryVisitor, EntryVisitor, Ignored, InnerListVisitor, ItemVisitor};
use sfv::{BareItemFromInput, KeyRef, Parser};

/// What `read` makes of the last instance of each of `keys` in the
/// dictionary `value`, in `keys`' order: `read` is given the member's bare
/// item, or `None` for an inner list. `None` when `value` is no
/// dictionary.
pub(crate) fn last_members<T: Copy, const N: usize>(
    value: &[u8],
    keys: [&str; N],
    read: fn(Option<BareItemFromInput<'_>>) -> T,
) -> Option<[Option<T>; N]> {
    Parser::new(value)
        .parse_dictionary_with_visitor(Members {
            keys,
            read,
            values: [None; N],
        })
        .ok()
}

/// The visitor of [`last_members`].
struct Members<'k, T, const N: usize> {
    keys: [&'k str; N],
    read: fn(Option<BareItemFromInput<'_>>) -> T,
    values: [Option<T>; N],
}

impl<'de, T: Copy, const N: usize> DictionaryVisitor<'de> for Members<'_, T, N> {
    type Out = [Option<T>; N];
    type Error = Infallible;

    fn entry(&mut self, key: &'de KeyRef) -> Result<impl EntryVisitor<'de>, Self::Error> {
        let read = self.read;
        let known = self.keys.iter().position(|k| key.as_str() == *k);
        Ok(known.map(|i| Member {
            slot: &mut self.values[i],
            read,
        }))
    }

    fn finish(self) -> Result<Self::Out, Self::Error> {
        Ok(self.values)
    }
}

/// One known member, read into its slot.
struct Member<'a, T> {
    slot: &'a mut Option<T>,
    read: fn(Option<BareItemFromInput<'_>>) -> T,
}

impl<'de, T> EntryVisitor<'de> for Member<'_, T> {
    type Error = Infallible;

    fn item(self) -> Result<impl ItemVisitor<'de>, Self::Error> {
        Ok(move |bare: BareItemFromInput<'de>| {
            *self.slot = Some((self.read)(Some(bare)));
            Ok::<_, Infallible>(Ignored)
        })
    }

    fn inner_list(self) -> Result<impl InnerListVisitor<'de>, Self::Error> {
        *self.slot = Some((self.read)(None));
        Ok(Ignored)
    }
}
