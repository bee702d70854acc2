//! Our words live in Fluent resource files (`locales/<lang>/<part>.ftl`), so a translator edits
//! text, not Rust. Each part (public pages, console, e-mail) is a typed catalogue: a struct whose
//! fields name its messages (`review_until` is the message `review-until`). Loading a catalogue
//! checks that every field has its message and that the file holds no message nobody reads, so a
//! text missing in one language is an error at start (and in the unit tests), never a blank on
//! a page. Messages without variables are formatted once, at load; messages with variables are
//! [`Msg`]s, formatted per use by `fluent-bundle` (so a translator may use Fluent's selectors).

use std::collections::BTreeSet;
use std::sync::Mutex;

use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource};
use fluent_syntax::ast::{Entry, Pattern};
use unic_langid::LanguageIdentifier;

use crate::domain::lang::Lang;

type Bundle = FluentBundle<FluentResource>;

/// A resource file that cannot serve its catalogue.
#[derive(Debug, Clone, thiserror::Error)]
pub enum LocaleError {
    #[error("{file}: does not parse: {detail}")]
    Syntax { file: String, detail: String },
    #[error("{file}: message `{id}` is missing")]
    Missing { file: String, id: String },
    #[error("{file}: message `{id}` does not format without variables: {detail}")]
    Format { file: String, id: String, detail: String },
    #[error("{file}: messages nobody reads: {ids}")]
    Unused { file: String, ids: String },
}

/// One resource file of one language, loaded for the life of the process.
pub struct Resource {
    file: String,
    bundle: Bundle,
    /// Every message id in the file, and those a catalogue read (to name the unread ones).
    ids: Vec<String>,
    read: Mutex<BTreeSet<String>>,
}

impl Resource {
    /// Parses `source` (the text of `file`) for `lang`.
    pub fn parse(lang: Lang, file: &str, source: &str) -> Result<&'static Resource, LocaleError> {
        let resource = FluentResource::try_new(source.to_string()).map_err(|(_, errors)| LocaleError::Syntax {
            file: file.into(),
            detail: errors.iter().map(|e| e.to_string()).collect::<Vec<_>>().join("; "),
        })?;
        let ids: Vec<String> = resource
            .entries()
            .filter_map(|e| match e {
                Entry::Message(m) => Some(m.id.name.to_string()),
                _ => None,
            })
            .collect();
        let id: LanguageIdentifier = lang.code().parse().expect("our language codes are valid tags");
        let mut bundle = Bundle::new_concurrent(vec![id]);
        // Unicode isolation marks around values would end up in e-mail subjects and attributes.
        bundle.set_use_isolating(false);
        bundle.add_resource(resource).map_err(|errors| LocaleError::Syntax {
            file: file.into(),
            detail: format!("{} duplicate messages", errors.len()),
        })?;
        // Catalogues are loaded once per language and part and live as long as the process.
        Ok(Box::leak(Box::new(Resource { file: file.into(), bundle, ids, read: Mutex::default() })))
    }

    fn pattern(&'static self, id: &str) -> Result<&'static Pattern<&'static str>, LocaleError> {
        self.read.lock().unwrap_or_else(|e| e.into_inner()).insert(id.to_string());
        self.bundle
            .get_message(id)
            .and_then(|m| m.value())
            .ok_or_else(|| LocaleError::Missing { file: self.file.clone(), id: id.into() })
    }

    /// A message looked up by an id known only at run time (a field name, say), with `args`
    /// put in; `None` when the file has no such message.
    pub fn lookup(&'static self, id: &str, args: &[(&str, &str)]) -> Option<String> {
        let pattern = self.bundle.get_message(id)?.value()?;
        Some(Msg { resource: self, pattern }.fill(args))
    }

    /// After a catalogue is read from it: every message of the file was read.
    pub fn all_read(&self) -> Result<(), LocaleError> {
        let read = self.read.lock().unwrap_or_else(|e| e.into_inner());
        let unused: Vec<String> = self.ids.iter().filter(|id| !read.contains(*id)).cloned().collect();
        if unused.is_empty() {
            Ok(())
        } else {
            Err(LocaleError::Unused { file: self.file.clone(), ids: unused.join(", ") })
        }
    }
}

/// A message with variables (`{ $issuer }`), formatted when used.
#[derive(Clone, Copy)]
pub struct Msg {
    resource: &'static Resource,
    pattern: &'static Pattern<&'static str>,
}

impl Msg {
    /// The message with `args` (name, value) put in.
    pub fn fill(&self, args: &[(&str, &str)]) -> String {
        let mut fluent = FluentArgs::new();
        for (k, v) in args {
            fluent.set(*k, *v);
        }
        let mut errors = Vec::new();
        let text = self.resource.bundle.format_pattern(self.pattern, Some(&fluent), &mut errors);
        if !errors.is_empty() {
            tracing::warn!(file = %self.resource.file, ?errors, "a message was formatted without all its variables");
        }
        text.into_owned()
    }
}

impl std::fmt::Debug for Msg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Msg").field("file", &self.resource.file).finish_non_exhaustive()
    }
}

/// A catalogue field read from its resource.
pub trait FromResource: Sized {
    fn read(resource: &'static Resource, id: &str) -> Result<Self, LocaleError>;
}

impl FromResource for &'static str {
    fn read(resource: &'static Resource, id: &str) -> Result<Self, LocaleError> {
        let pattern = resource.pattern(id)?;
        let mut errors = Vec::new();
        let text = resource.bundle.format_pattern(pattern, None, &mut errors);
        if !errors.is_empty() {
            return Err(LocaleError::Format {
                file: resource.file.clone(),
                id: id.into(),
                detail: errors.iter().map(|e| e.to_string()).collect::<Vec<_>>().join("; "),
            });
        }
        // Formatted once per process (see `Resource::parse`).
        Ok(Box::leak(text.into_owned().into_boxed_str()))
    }
}

impl FromResource for Msg {
    fn read(resource: &'static Resource, id: &str) -> Result<Self, LocaleError> {
        Ok(Msg { resource, pattern: resource.pattern(id)? })
    }
}

/// A fixed list of names: messages `<id>-1` … `<id>-N`.
impl<const N: usize> FromResource for [&'static str; N] {
    fn read(resource: &'static Resource, id: &str) -> Result<Self, LocaleError> {
        let mut out = [""; N];
        for (i, slot) in out.iter_mut().enumerate() {
            *slot = <&'static str>::read(resource, &format!("{id}-{}", i + 1))?;
        }
        Ok(out)
    }
}

/// Declares a catalogue: the struct, and `load(lang)` reading it from
/// `locales/<lang>/<part>.ftl` (bundled into the binary).
macro_rules! catalogue {
    (
        $(#[$meta:meta])*
        $vis:vis struct $name:ident in $part:literal {
            $( $(#[$fmeta:meta])* $fvis:vis $field:ident : $ty:ty ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        $vis struct $name {
            $( $(#[$fmeta])* $fvis $field: $ty ),*
        }

        impl $name {
            /// Reads the catalogue of `lang` from its bundled resource file.
            pub fn load(lang: $crate::domain::lang::Lang) -> Result<Self, $crate::locale::LocaleError> {
                let (file, source) = match lang {
                    $crate::domain::lang::Lang::En => (
                        concat!("locales/en/", $part, ".ftl"),
                        include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/locales/en/", $part, ".ftl")),
                    ),
                    $crate::domain::lang::Lang::Nl => (
                        concat!("locales/nl/", $part, ".ftl"),
                        include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/locales/nl/", $part, ".ftl")),
                    ),
                };
                let resource = $crate::locale::Resource::parse(lang, file, source)?;
                let catalogue = $name {
                    $( $field: $crate::locale::FromResource::read(resource, &stringify!($field).replace('_', "-"))? ),*
                };
                resource.all_read()?;
                Ok(catalogue)
            }

            /// Each language's catalogue, loaded on first use.
            fn cell(lang: $crate::domain::lang::Lang) -> &'static Result<Self, $crate::locale::LocaleError> {
                static EN: std::sync::LazyLock<Result<$name, $crate::locale::LocaleError>> =
                    std::sync::LazyLock::new(|| $name::load($crate::domain::lang::Lang::En));
                static NL: std::sync::LazyLock<Result<$name, $crate::locale::LocaleError>> =
                    std::sync::LazyLock::new(|| $name::load($crate::domain::lang::Lang::Nl));
                match lang {
                    $crate::domain::lang::Lang::En => &EN,
                    $crate::domain::lang::Lang::Nl => &NL,
                }
            }

            /// The catalogue of `lang`.
            pub fn get(lang: $crate::domain::lang::Lang) -> &'static Self {
                Self::cell(lang)
                    .as_ref()
                    .expect("the bundled resource files are checked at start (locale::check) and by the unit tests")
            }

            /// Both languages load.
            pub fn check() -> Result<(), $crate::locale::LocaleError> {
                for lang in [$crate::domain::lang::Lang::En, $crate::domain::lang::Lang::Nl] {
                    if let Err(e) = Self::cell(lang) {
                        return Err(e.clone());
                    }
                }
                Ok(())
            }
        }
    };
}
pub(crate) use catalogue;

/// Loads every catalogue in both languages, so a broken resource file stops the service at
/// start rather than showing on a page.
pub fn check() -> Result<(), LocaleError> {
    crate::http::check_texts()?;
    crate::service::check_texts()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_catalogue_loads_in_both_languages() {
        check().unwrap();
    }

    #[test]
    fn missing_and_unread_messages_are_named() {
        let r = Resource::parse(Lang::Nl, "t.ftl", "a = Hallo { $name }\nb = Dag\n").unwrap();
        assert!(matches!(<&str>::read(r, "c"), Err(LocaleError::Missing { .. })));
        assert!(matches!(<&str>::read(r, "a"), Err(LocaleError::Format { .. })), "a variable needs a Msg");
        assert_eq!(<&str>::read(r, "b").unwrap(), "Dag");
        assert_eq!(Msg::read(r, "a").unwrap().fill(&[("name", "Ans")]), "Hallo Ans");
        let source = "a = Hallo { $name }\nb = Dag\nc = Tot ziens\n";
        let r = Resource::parse(Lang::Nl, "t.ftl", source).unwrap();
        <&str>::read(r, "b").unwrap();
        Msg::read(r, "a").unwrap();
        match r.all_read() {
            Err(LocaleError::Unused { ids, .. }) => assert_eq!(ids, "c"),
            other => panic!("{other:?}"),
        }
        assert!(matches!(Resource::parse(Lang::En, "t.ftl", "a = {"), Err(LocaleError::Syntax { .. })));
    }
}
