/* town-prospects report: the one place that formats numbers for people to read.

   The page's script formats every number it draws with these functions, and the sentences the
   Python side writes (forecast/report/text.py) carry their numbers as tokens that the page
   formats here too, in the page's language: ⟦kind|value|decimals|sign⟧, e.g. ⟦pct|-12.3|1|+⟧.
   The separators of each language are data (i18n.json: num.group, num.decimal, num.pct,
   unit_pp, unit_km). Also loadable with node (module.exports) for the tests. */
var ReportNumbers = (function () {
  "use strict";

  const MINUS = "\u2212";
  const NBSP = "\u00a0";
  const TOKEN = /\u27e6(\w+)\|([^|\u27e7]*)\|(\d*)\|(\+?)\u27e7/g;

  function isNum(x) { return typeof x === "number" && isFinite(x); }

  // words: one language's block of i18n.json
  function formatter(words) {
    const sep = words.num;
    function num(x, dec, sign) {
      dec = dec || 0;
      if (!isNum(x)) return "–";
      const parts = Math.abs(x).toFixed(dec).split(".");
      let body = parts[0].replace(/\B(?=(\d{3})+(?!\d))/g, sep.group);
      if (parts[1]) body += sep.decimal + parts[1];
      const r = Number(x.toFixed(dec));
      if (r < 0) return MINUS + body;
      if (sign && r > 0) return "+" + body;
      return body;
    }
    // a percentage change: one decimal and a sign unless told otherwise
    function pct(x, dec, sign) {
      if (!isNum(x)) return "–";
      return num(x, dec === undefined ? 1 : dec, sign === undefined ? true : sign) + sep.pct;
    }
    // a share or probability in 0..1 as a whole percentage
    function share(p) { return isNum(p) ? pct(100 * p, 0, false) : "–"; }
    // a probability: never shown as a certainty it is not
    function prob(p) {
      if (!isNum(p)) return "–";
      if (p >= 0.995) return ">" + pct(99, 0, false);
      if (p < 0.005) return "<" + pct(1, 0, false);
      return share(p);
    }
    // percentage points
    function pts(x, dec, sign) {
      if (!isNum(x)) return "–";
      return num(x, dec === undefined ? 1 : dec, sign !== false) + NBSP + words.unit_pp;
    }
    // a threshold in percent: "+0%", "−10%" (a decimal only when it has one)
    function thr(x) {
      if (!isNum(x)) return "–";
      const dec = Math.abs(x - Math.round(x)) < 1e-9 ? 0 : 1;
      let s = num(x, dec, true);
      if (Number(x.toFixed(dec)) === 0) s = "+" + s;
      return s + sep.pct;
    }
    // a threshold without its sign: −10 -> "10%" (for "a fall of more than 10%")
    function absThr(x) { return isNum(x) ? thr(Math.abs(x)).replace(/^\+/, "") : "–"; }
    function km(x) { return isNum(x) ? num(x, 0) + NBSP + words.unit_km : "–"; }

    const KINDS = {
      num: (x, dec, sign) => num(x, dec, sign),
      pct: (x, dec, sign) => pct(x, dec, sign),
      share: (x) => share(x),
      pts: (x, dec, sign) => pts(x, dec, sign),
      thr: (x) => thr(x),
      absthr: (x) => absThr(x),
      km: (x) => km(x),
    };
    // a sentence from the Python side with its number tokens formatted
    function render(text) {
      return String(text).replace(TOKEN, (m, kind, x, dec, sign) =>
        KINDS[kind] ? KINDS[kind](Number(x), dec === "" ? undefined : Number(dec), sign === "+") : m);
    }
    return { num, pct, share, prob, pts, thr, absThr, km, render };
  }

  return { formatter: formatter, isNum: isNum, KINDS: ["num", "pct", "share", "pts", "thr", "absthr", "km"] };
})();
if (typeof module !== "undefined" && module.exports) module.exports = ReportNumbers;
