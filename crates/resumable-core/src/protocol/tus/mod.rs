//! tus 1.0 (tus.io): an upload is created with a `POST` to an endpoint, which
//! answers with its URL in `Location`; `HEAD` asks for its `Upload-Offset`,
//! `PATCH`es with `Content-Type: application/offset+octet-stream` append at
//! that offset, `DELETE` terminates it, and `OPTIONS` tells what the server
//! supports. Every request but `OPTIONS` carries `Tus-Resumable: 1.0.0`.
//!
//! The header codecs are submodules: [`number`] (`Upload-Offset`,
//! `Upload-Length`, `Tus-Max-Size`), [`metadata`] (`Upload-Metadata`),
//! [`location`] (`Location`), [`expires`] (`Upload-Expires`), [`checksum`]
//! (`Upload-Checksum`) and [`discovery`] (the `OPTIONS` headers).

/// Declares the header codecs: `pub` for `crate::codecs` (fuzz targets,
/// benches, test servers); without that, the engine uses only part of them.
macro_rules! header_codecs {
    ($($name:ident),* $(,)?) => {
        $(
            #[cfg_attr(
                not(any(fuzzing, feature = "codecs")),
                allow(unreachable_pub, dead_code)
            )]
            pub mod $name;
        )*
    };
}

header_codecs!(checksum, discovery, expires, location, metadata, number);
