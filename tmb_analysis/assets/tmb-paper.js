/* Charts on paper, for every way a page is printed: tmb build --pdf's printer (tmb_analysis/pdf.py adds
   this file to its print tab) and a reader's own Ctrl+P (page.html.j2). tmbPaper.figure(gd, data, layout,
   width, height) gives [data, layout] of the chart in box gd as it is drawn on paper, width px wide;
   height is its box's height on paper when the caller knows it (the printer, from the page laid out for
   paper), else the height tmb.css's print rules give that box. It changes neither data nor layout.

   A trend chart in half the width (a proposal card, a pair of trend charts) gets smaller type, a tick every
   other year and its legend in two columns under the plot (the band named without the area, which the
   card names), so that its plot keeps more than half its box and its y title fits beside it. The funnels
   (two to a row), the matrix and the map are drawn at most as high as tmb.css's print rules make their
   boxes (--paper-chart, --paper-map: a quarter of the A4 text height at the print scale; the county
   overview's map --paper-county-map, a third), so that each shares its page with its text; the heights
   have their one home there, as the trend charts' boxes' (--paper-card-trend, --paper-pair-trend). A
   funnel in half the width gets small type, a tight frame and level tick labels (only the powers of ten
   when the axis has many ticks), the county's funnel paper type. Each kind's margins on paper hold its
   tick labels, titles and legend for every kommun and län of the example data (checked for the whole
   country), so that plotly's automargin, which stays on and grows a margin that falls short, does not
   have to: a grown margin is a second drawing of the chart, and the screen's margins (too small for
   paper's legends) cost one for every chart, a third of the charts' time (issue 13). */
/* defined once: in tmb's print tab the printer's own copy, run before the page's, is the one used */
window.tmbPaper = window.tmbPaper || (function () {
  'use strict';
  // a chart's height on paper, from tmb.css (--paper-card-trend and the others, which its print rules
  // give the charts' boxes): undefined when the page has no such stylesheet, and plotly keeps its height
  var paperHeight = function (name) {
    var px = parseFloat(getComputedStyle(document.documentElement).getPropertyValue('--paper-' + name));
    return px > 0 ? px : undefined;
  };
  var CARD_TREND = {'font.size': 8, 'margin.t': 14, 'margin.b': 76, 'margin.l': 64, 'margin.r': 8,
    'xaxis.dtick': 2, 'xaxis.tickangle': 0, 'xaxis.title.text': '', 'yaxis.title.font.size': 7,
    'legend.orientation': 'h', 'legend.font.size': 7, 'legend.x': 0, 'legend.xanchor': 'left',
    'legend.yref': 'paper', 'legend.y': -0.12, 'legend.yanchor': 'top', 'legend.entrywidthmode': 'fraction',
    'legend.entrywidth': 0.5, 'legend.tracegroupgap': 0};
  var HALF_FUNNEL = {'font.size': 8, 'legend.font.size': 7, 'margin.t': 10, 'margin.r': 6, 'margin.l': 52,
    'margin.b': 86, 'xaxis.tickangle': 0, 'xaxis.title.font.size': 8, 'yaxis.title.font.size': 8,
    'xaxis.title.standoff': 4, 'yaxis.title.standoff': 4};
  var FULL_FUNNEL = {'font.size': 9, 'legend.font.size': 8, 'margin.t': 16, 'margin.r': 30, 'margin.l': 70,
    'margin.b': 74, 'xaxis.title.font.size': 9, 'yaxis.title.font.size': 9, 'xaxis.title.standoff': 4,
    'yaxis.title.standoff': 4};
  var MATRIX = {'margin.l': 76, 'margin.r': 24, 'margin.b': 70};
  // the county overview's intervals: its legend under the plot takes a row more at the paper's width
  var INTERVALS = {'margin.l': 124, 'margin.r': 36, 'margin.b': 152};
  var put = function (obj, path, value) {
    var keys = path.split('.'), at = obj;
    keys.slice(0, -1).forEach(function (key) {
      if (typeof at[key] !== 'object' || at[key] === null) at[key] = {};
      at = at[key];
    });
    at[keys[keys.length - 1]] = value;
  };
  var apply = function (layout, settings) {
    Object.keys(settings).forEach(function (path) { put(layout, path, settings[path]); });
  };
  // a funnel's log axis keeps its powers of ten when it has more ticks than half the paper holds
  var fewerTicks = function (axis) {
    if (!axis || !Array.isArray(axis.tickvals) || axis.tickvals.length <= 4) return;
    var keep = axis.tickvals.map(function (v, i) { return i; })
      .filter(function (i) { return /^10*$/.test(String(axis.tickvals[i])); });
    if (keep.length < 2) return;
    axis.ticktext = keep.map(function (i) { return (axis.ticktext || axis.tickvals)[i]; });
    axis.tickvals = keep.map(function (i) { return axis.tickvals[i]; });
  };
  var copy = function (obj, extra) { return Object.assign({}, obj, extra); };
  // The map's first trace holds its text labels ("name<br>value"). On paper they are set small; the
  // county page's map, a third of its page, keeps name and value; a kommun page's map, a quarter of a
  // page, keeps the names only (the values are in the tables), so that the labels do not overlap.
  // Its colour bar is set thin, half the width, in small type.
  var paperMapLabels = function (data, withValues) {
    return data.map(function (trace, i) {
      if (trace.colorbar) {
        var bar = trace.colorbar, title = bar.title || {};
        return copy(trace, {colorbar: copy(bar, {thickness: 8, len: 0.5,
          tickfont: copy(bar.tickfont || {}, {size: 7}),
          title: copy(title, {font: copy(title.font || {}, {size: 8})})})});
      }
      if (i !== 0 || trace.mode !== 'text' || !Array.isArray(trace.text)) return trace;
      var text = withValues ? trace.text : trace.text.map(function (t) { return String(t).split('<br>')[0]; });
      return copy(trace, {text: text, textfont: copy(trace.textfont || {}, {size: 7})});
    });
  };
  var figure = function (gd, data, layout, width, height) {
    var countyPage = document.body.classList.contains('page-lan');
    var fig = gd.closest('figure.tmb-figure');
    var name = fig ? fig.dataset.figure || '' : '';
    var paper = JSON.parse(JSON.stringify(layout || {}));
    paper.width = width;
    if (/^(karta|tratt|prioriteringsmatris)/.test(name)) {
      var map = name.indexOf('karta') === 0;
      var most = paperHeight(map ? (countyPage ? 'county-map' : 'map') : 'chart');
      if (most) paper.height = Math.min(paper.height || most, most);
      if (map) data = paperMapLabels(data, countyPage);
      if (name.indexOf('tratt') === 0 && gd.closest('.funnel-pair')) {
        apply(paper, HALF_FUNNEL);
        fewerTicks(paper.xaxis);
      } else if (name.indexOf('tratt') === 0) {
        apply(paper, FULL_FUNNEL);
      } else if (!map) {
        apply(paper, MATRIX);
      }
    } else if (name === 'intervall') {
      apply(paper, INTERVALS);
    } else if (/^trend/.test(name) && gd.closest('article.proposal, .chart-pair')) {
      apply(paper, CARD_TREND);
      data = data.map(function (trace) {
        return trace.fill === 'toself' && typeof trace.name === 'string'
          ? copy(trace, {name: trace.name.replace(/\s*\([^()]*\)$/, '')}) : trace;
      });
      paper.height = height || paperHeight(gd.closest('article.proposal') ? 'card-trend' : 'pair-trend');
    }
    return [data, paper];
  };
  return {figure: figure};
})();
