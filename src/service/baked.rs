//! Badge images with the signed credential baked in.

use uuid::Uuid;

use super::{Service, ServiceError, ServiceResult, decode_spec};
use crate::credential::{bake, ob3};
use crate::domain::nanomodule::NanomoduleSpec;

impl Service {
    /// The module artwork of the credential's nanomodule version: (content type, bytes, name).
    async fn artwork(&self, credential: Uuid) -> ServiceResult<(String, Vec<u8>, String, String)> {
        let c = self.live_credential(credential).await?;
        let (Some(module), Some(version)) = (c.nanomodule_id, c.nanomodule_version) else {
            // A certificate: the line's generated artwork.
            let name = self.certificate_name(&c).await?;
            return Ok(("image/svg+xml".into(), ob3::default_image_svg(&name).into_bytes(), name, c.signed));
        };
        let v = self.store.nanomodule_version(module, Some(version)).await?.ok_or(ServiceError::NotFound)?;
        let spec: NanomoduleSpec = decode_spec(&v.spec)?;
        let name = spec.name.unwrap_or_default();
        match v.image_id {
            Some(image) => {
                let img = self.image(image).await?;
                Ok((img.content_type, img.bytes, name, c.signed))
            }
            None => Ok(("image/svg+xml".into(), ob3::default_image_svg(&name).into_bytes(), name, c.signed)),
        }
    }

    #[tracing::instrument(skip_all, fields(credential = %credential))]
    pub async fn baked_png(&self, credential: Uuid) -> ServiceResult<Vec<u8>> {
        let (content_type, bytes, name, signed) = self.artwork(credential).await?;
        // Artwork stored before uploads were decoded in full may be broken: bake a plain badge
        // then rather than fail.
        let usable = content_type == "image/png" && crate::credential::image::check_png(&bytes).is_ok();
        let png = if usable { bytes } else { bake::solid_png(256, colour(&name)) };
        bake::bake_png(&png, &signed).map_err(|e| ServiceError::Internal(e.to_string()))
    }

    #[tracing::instrument(skip_all, fields(credential = %credential))]
    pub async fn baked_svg(&self, credential: Uuid) -> ServiceResult<String> {
        let (content_type, bytes, name, signed) = self.artwork(credential).await?;
        let checked = (content_type == "image/svg+xml")
            .then(|| String::from_utf8(bytes.clone()).ok())
            .flatten()
            .filter(|svg| crate::credential::image::check_svg(svg).is_ok());
        let svg = if let Some(svg) = checked {
            svg
        } else if content_type == "image/svg+xml" {
            // Stored before uploads were checked against the allowlist: the generated artwork,
            // so the download never carries active content.
            ob3::default_image_svg(&name)
        } else {
            ob3::png_in_svg(&name, &bytes)
        };
        bake::bake_svg(&svg, &signed).map_err(|e| ServiceError::Internal(e.to_string()))
    }
}

/// The default artwork's hue as an RGB colour, for PNG badges of SVG-only modules.
fn colour(name: &str) -> [u8; 3] {
    let digest = crate::domain::audit::sha256_hex(name.as_bytes());
    let hue = u32::from_str_radix(&digest[..4], 16).unwrap_or(0) % 360;
    let (s, l) = (0.55f64, 0.42f64);
    let c = (1.0 - (2.0 * l - 1.0).abs()) * s;
    let h = hue as f64 / 60.0;
    let x = c * (1.0 - (h % 2.0 - 1.0).abs());
    let (r, g, b) = match h as u32 {
        0 => (c, x, 0.0),
        1 => (x, c, 0.0),
        2 => (0.0, c, x),
        3 => (0.0, x, c),
        4 => (x, 0.0, c),
        _ => (c, 0.0, x),
    };
    let m = l - c / 2.0;
    [((r + m) * 255.0) as u8, ((g + m) * 255.0) as u8, ((b + m) * 255.0) as u8]
}
