//! How company names are compared in searches.

use unicode_normalization::UnicodeNormalization;

/// How names are compared: NFKC (full-width letters and digits become half-width, half-width
/// katakana full-width), then lower case. Stored beside each company name and applied to the
/// search text, so 「ＡＢＣ商事」, 「abc商事」 and 「ABC商事」 find the same company.
pub fn normalize(s: &str) -> String {
    s.nfkc().collect::<String>().to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_width_and_half_width_normalise_alike() {
        assert_eq!(normalize("ＡＢＣ商事株式会社"), "abc商事株式会社");
        assert_eq!(normalize("ABC商事株式会社"), "abc商事株式会社");
        assert_eq!(normalize("ｶﾌﾞｼｷｶﾞｲｼｬ"), normalize("カブシキガイシャ"));
        assert_eq!(normalize("㈱テスト"), "(株)テスト");
    }
}
