//! Pure evaluation metrics for judging the kernel on a labelled set (used by
//! `classify eval`): ROC AUC (rank statistic with ties), confusion counts,
//! balanced accuracy, best-threshold search, and a minimal CSV line splitter
//! for the manifest. No I/O.
//!
//! Convention: `positive == true` means "blurred"; a higher score means
//! "more likely blurred"; a sample is predicted positive when `score >= threshold`.

/// Confusion counts at one threshold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Confusion {
    /// Blurred, predicted blurred.
    pub tp: usize,
    /// Sharp, predicted blurred.
    pub fp: usize,
    /// Sharp, predicted sharp.
    pub tn: usize,
    /// Blurred, predicted sharp.
    pub fn_: usize,
}

impl Confusion {
    /// Counts at `threshold` (a sample is predicted positive when `score >= threshold`).
    pub fn at(scores: &[f64], positive: &[bool], threshold: f64) -> Self {
        let mut c = Confusion::default();
        for (&s, &p) in scores.iter().zip(positive) {
            match (s >= threshold, p) {
                (true, true) => c.tp += 1,
                (true, false) => c.fp += 1,
                (false, false) => c.tn += 1,
                (false, true) => c.fn_ += 1,
            }
        }
        c
    }

    /// True-positive rate; `None` without positives.
    pub fn tpr(&self) -> Option<f64> {
        let n = self.tp + self.fn_;
        (n > 0).then(|| self.tp as f64 / n as f64)
    }

    /// True-negative rate; `None` without negatives.
    pub fn tnr(&self) -> Option<f64> {
        let n = self.tn + self.fp;
        (n > 0).then(|| self.tn as f64 / n as f64)
    }

    /// Mean of TPR and TNR; with only one class present, that class's rate.
    pub fn balanced_accuracy(&self) -> Option<f64> {
        match (self.tpr(), self.tnr()) {
            (Some(a), Some(b)) => Some((a + b) / 2.0),
            (Some(a), None) | (None, Some(a)) => Some(a),
            (None, None) => None,
        }
    }

    /// Fraction of samples predicted right; `None` without samples.
    pub fn accuracy(&self) -> Option<f64> {
        let n = self.tp + self.fp + self.tn + self.fn_;
        (n > 0).then(|| (self.tp + self.tn) as f64 / n as f64)
    }
}

/// Balanced accuracy at `threshold` (see `Confusion::balanced_accuracy`).
pub fn balanced_accuracy(scores: &[f64], positive: &[bool], threshold: f64) -> Option<f64> {
    Confusion::at(scores, positive, threshold).balanced_accuracy()
}

/// ROC AUC as the Mann–Whitney statistic: P(score_pos > score_neg) + ½·P(tie).
/// Uses mid-ranks, O(n log n). `None` unless both classes are present.
pub fn roc_auc(scores: &[f64], positive: &[bool]) -> Option<f64> {
    let n = scores.len().min(positive.len());
    let npos = positive[..n].iter().filter(|&&p| p).count();
    let nneg = n - npos;
    if npos == 0 || nneg == 0 {
        return None;
    }
    let mut idx: Vec<usize> = (0..n).collect();
    idx.sort_by(|&a, &b| scores[a].total_cmp(&scores[b]));
    let mut rank_sum_pos = 0.0;
    let mut i = 0;
    while i < n {
        let mut j = i;
        while j + 1 < n && scores[idx[j + 1]] == scores[idx[i]] {
            j += 1;
        }
        // Ranks are 1-based; the tie group i..=j shares the mid-rank.
        let mid = (i + j) as f64 / 2.0 + 1.0;
        for &k in &idx[i..=j] {
            if positive[k] {
                rank_sum_pos += mid;
            }
        }
        i = j + 1;
    }
    let u = rank_sum_pos - (npos * (npos + 1)) as f64 / 2.0;
    Some(u / (npos as f64 * nneg as f64))
}

/// Threshold maximising balanced accuracy; candidates are midpoints between
/// consecutive distinct scores (plus both ends). Returns (threshold, bacc).
pub fn best_threshold(scores: &[f64], positive: &[bool]) -> Option<(f64, f64)> {
    let mut s: Vec<f64> = scores.iter().copied().filter(|v| v.is_finite()).collect();
    if s.is_empty() {
        return None;
    }
    s.sort_by(f64::total_cmp);
    s.dedup();
    let mut cands = Vec::with_capacity(s.len() + 1);
    cands.push(s[0]);
    cands.extend(s.windows(2).map(|w| (w[0] + w[1]) / 2.0));
    cands.push(s[s.len() - 1] + 1.0);
    let mut best: Option<(f64, f64)> = None;
    for t in cands {
        if let Some(b) = balanced_accuracy(scores, positive, t)
            && best.is_none_or(|(_, bb)| b > bb)
        {
            best = Some((t, b));
        }
    }
    best
}

/// Splits one CSV line, honouring double quotes and `""` escapes.
pub fn split_csv_line(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                cur.push('"');
                chars.next();
            }
            ('"', _) => quoted = !quoted,
            (',', false) => out.push(std::mem::take(&mut cur)),
            _ => cur.push(c),
        }
    }
    out.push(cur);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auc_perfect_inverse_and_ties() {
        let pos = [false, false, true, true];
        assert_eq!(roc_auc(&[0.1, 0.2, 0.8, 0.9], &pos), Some(1.0));
        assert_eq!(roc_auc(&[0.9, 0.8, 0.2, 0.1], &pos), Some(0.0));
        assert_eq!(roc_auc(&[0.5; 4], &pos), Some(0.5));
        // One tie between a positive and a negative: (3 + 0.5) / 4.
        assert_eq!(roc_auc(&[0.1, 0.5, 0.5, 0.9], &pos), Some(0.875));
        assert_eq!(roc_auc(&[0.1, 0.2], &[true, true]), None);
    }

    #[test]
    fn balanced_accuracy_and_confusion() {
        let pos = [true, true, true, false];
        let s = [0.9, 0.6, 0.4, 0.1];
        let c = Confusion::at(&s, &pos, 0.5);
        assert_eq!(
            c,
            Confusion {
                tp: 2,
                fp: 0,
                tn: 1,
                fn_: 1
            }
        );
        assert!((c.balanced_accuracy().unwrap() - (2.0 / 3.0 + 1.0) / 2.0).abs() < 1e-12);
        let (t, b) = best_threshold(&s, &pos).unwrap();
        assert_eq!(b, 1.0);
        assert!(t > 0.1 && t <= 0.4);
    }

    #[test]
    fn csv_quotes() {
        assert_eq!(
            split_csv_line(r#"a,"b, ""c""",d"#),
            vec!["a".to_string(), "b, \"c\"".to_string(), "d".to_string()]
        );
    }
}
