// critmin report: draws a report model (critmin/results_report.h, docs/report.md) with Chart.js.
// The same script renders the self-contained HTML report and the results view of the dashboard.
// Every figure it shows comes from the model; it computes nothing but the display of numbers.
(function () {
  'use strict';

  var PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2',
    '#7f7f7f', '#bcbd22', '#17becf', '#393b79', '#637939'];

  function color(i, alpha) {
    var hex = PALETTE[i % PALETTE.length];
    if (alpha === undefined) return hex;
    var n = parseInt(hex.slice(1), 16);
    return 'rgba(' + (n >> 16) + ',' + ((n >> 8) & 255) + ',' + (n & 255) + ',' + alpha + ')';
  }

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (key) {
      if (key === 'text') node.textContent = attrs[key];
      else node.setAttribute(key, attrs[key]);
    });
    (children || []).forEach(function (child) { if (child) node.appendChild(child); });
    return node;
  }

  // Numbers in tables: shares as %, others with up to 4 significant digits.
  function formatNumber(value, unit) {
    if (value === null || value === undefined || value === '') return '';
    if (typeof value === 'boolean') return value ? 'yes' : 'no';
    if (typeof value !== 'number') return String(value);
    if (unit === '0-1') return (100 * value).toFixed(1);
    if (Math.abs(value) >= 10000) return Math.round(value).toLocaleString('en-US');
    return Number(value.toPrecision(4)).toLocaleString('en-US', { maximumFractionDigits: 4 });
  }

  function shownUnit(unit) { return unit === '0-1' ? '%' : unit; }
  function headerLabel(label, unit) { return unit ? label + ' [' + shownUnit(unit) + ']' : label; }

  function table(columns, rows, className) {
    var head = el('tr', {}, columns.map(function (c) {
      return el('th', { text: headerLabel(c.label, c.unit) });
    }));
    var body = rows.map(function (row) {
      return el('tr', {}, columns.map(function (c) {
        var value = row[c.key];
        var cell = el('td', { text: formatNumber(value, c.unit) });
        if (typeof value === 'number') cell.className = 'num';
        return cell;
      }));
    });
    return el('table', { class: className || 'data' }, [el('thead', {}, [head]), el('tbody', {}, body)]);
  }

  var charts = [];

  function chart(parent, id, caption, config) {
    var canvas = el('canvas', { id: id, role: 'img', 'aria-label': caption });
    var figure = el('figure', { class: 'chart' }, [el('div', { class: 'canvas-box' }, [canvas]),
      el('figcaption', { text: caption })]);
    parent.appendChild(figure);
    config.options = config.options || {};
    config.options.animation = false;
    config.options.responsive = true;
    config.options.maintainAspectRatio = false;
    charts.push(new Chart(canvas.getContext('2d'), config));
    return canvas;
  }

  function axes(xTitle, yTitle, extra) {
    var y = Object.assign({ title: { display: true, text: yTitle } }, extra || {});
    return { x: { title: { display: true, text: xTitle } }, y: y };
  }

  function renderScorecards(parent, cards) {
    var groups = [];
    var byGroup = {};
    cards.forEach(function (card) {
      if (!byGroup[card.group]) { byGroup[card.group] = []; groups.push(card.group); }
      byGroup[card.group].push(card);
    });
    var section = el('section', { class: 'scorecards', id: 'scorecards' }, [el('h2', { text: 'Scorecards' })]);
    if (!cards.length) section.appendChild(el('p', { text: 'The summary holds no scorecard figures.' }));
    groups.forEach(function (group) {
      var grid = el('div', { class: 'cards' });
      byGroup[group].forEach(function (card) {
        grid.appendChild(el('article', { class: 'card', 'data-key': card.key, 'data-value': String(card.value),
          'data-unit': card.unit }, [
          el('h4', { text: card.label }),
          el('p', { class: 'figure', text: card.display }),
          el('p', { class: 'words', text: card.text })]));
      });
      section.appendChild(el('h3', { text: group }));
      section.appendChild(grid);
    });
    parent.appendChild(section);
  }

  function renderMaterial(parent, m, index) {
    var section = el('section', { class: 'material', id: 'material-' + m.id },
      [el('h2', { text: m.name + ' (' + m.id + ')' })]);
    var grid = el('div', { class: 'charts' });
    section.appendChild(grid);
    var prefix = 'chart-' + index + '-';

    // Price paths, with P5-P95 bands where the model has them.
    var datasets = [];
    m.price.lines.forEach(function (line, i) {
      if (line.band) {
        datasets.push({ label: line.label + ' P5', data: line.band.p5, borderWidth: 0, pointRadius: 0,
          borderColor: color(i, 0.2), fill: false });
        datasets.push({ label: line.label + ' P5–P95', data: line.band.p95, borderWidth: 0, pointRadius: 0,
          borderColor: color(i, 0.2), backgroundColor: color(i, 0.15), fill: '-1' });
      }
      datasets.push({ label: line.label, data: line.values, borderColor: color(i), backgroundColor: color(i),
        borderWidth: i === 0 ? 3 : 1.5, pointRadius: 2, fill: false });
    });
    chart(grid, prefix + 'price', m.name + ': ' + m.price.stage + ' price per region [' + m.price.unit +
      '] (world = consumption-weighted mean' +
      (m.price.lines.some(function (l) { return l.band; }) ? '; shaded: ensemble P5–P95' : '') + ')', {
      type: 'line', data: { labels: m.years, datasets: datasets },
      options: { scales: axes('year', 'price [' + m.price.unit + ']'), plugins: { legend: { labels: {
        filter: function (item) { return !/ P5$/.test(item.text); } } } } }
    });

    m.production.forEach(function (stage) {
      chart(grid, prefix + 'production-' + stage.stage, m.name + ': ' + stage.stage +
        ' production by region, stacked [' + stage.unit + ']', {
        type: 'line',
        data: { labels: m.years, datasets: stage.stacks.map(function (s, i) {
          return { label: s.label, data: s.values, borderColor: color(i), backgroundColor: color(i, 0.55),
            fill: i === 0 ? 'origin' : '-1', pointRadius: 0, borderWidth: 1 };
        }) },
        options: { scales: axes('year', 'production [' + stage.unit + ']', { stacked: true, beginAtZero: true }) }
      });
    });

    var limit = 100 * m.concentration.limit;
    var concentration = m.concentration.lines.map(function (line, i) {
      return { label: 'largest third country, ' + line.stage, data: line.share.map(function (s) {
        return s === null ? null : 100 * s; }), borderColor: color(i), backgroundColor: color(i),
        countries: line.country, pointRadius: 3 };
    });
    concentration.push({ label: 'CRMA line (' + limit.toFixed(0) + '%)', data: m.years.map(function () {
      return limit; }), borderColor: '#000', borderDash: [6, 4], pointRadius: 0, borderWidth: 1.5 });
    chart(grid, prefix + 'concentration', m.name + ': share of the largest third country per stage [%] ' +
      'against the CRMA benchmark of ' + limit.toFixed(0) + '%', {
      type: 'line', data: { labels: m.years, datasets: concentration },
      options: { scales: axes('year', 'share of world production [%]', { min: 0, max: 100 }),
        plugins: { tooltip: { callbacks: { label: function (ctx) {
          var c = ctx.dataset.countries ? ctx.dataset.countries[ctx.dataIndex] + ' ' : '';
          return ctx.dataset.label + ': ' + c + ctx.parsed.y.toFixed(1) + '%';
        } } } } }
    });

    var disrupted = m.disruptions.filter(function (d) { return d.happens; }).map(function (d) {
      return d.start + '–' + d.last; });
    chart(grid, prefix + 'shortfall', m.name + ': shortfall (demand not met) per area [t/yr]' +
      (disrupted.length ? '; export restrictions in force ' + disrupted.join(', ') : '; no disruption in force'), {
      type: 'bar',
      data: { labels: m.years, datasets: m.shortfall.areas.map(function (a, i) {
        return { label: a.area, data: a.values, shares: a.shares, backgroundColor: color(i, 0.8) };
      }) },
      options: { scales: axes('year', 'shortfall [' + m.shortfall.unit + ']'),
        plugins: { tooltip: { callbacks: { label: function (ctx) {
          var share = ctx.dataset.shares[ctx.dataIndex];
          return ctx.dataset.label + ': ' + formatNumber(ctx.parsed.y, 't') + ' t (' +
            (share === null ? '-' : (100 * share).toFixed(1)) + '% of demand)';
        } } } } }
    });
    if (m.disruptions.length) {
      section.appendChild(el('ul', { class: 'disruptions' }, m.disruptions.map(function (d) {
        return el('li', { text: d.text }); })));
    }
    parent.appendChild(section);
  }

  function renderAssess(parent, assess) {
    var section = el('section', { id: 'assess' }, [el('h2', { text: 'Supply concentration today (critmin assess)' }),
      el('p', { text: 'World supply shares of the EU CRM 2023 study per material and stage; the bloc share is the ' +
        assess.bloc + ' bloc\'s. A breach: one third country above the CRMA benchmark of 65%.' })]);
    if (!assess.rows.length) {
      section.appendChild(el('p', { text: 'No assessment rows for these materials.' }));
      parent.appendChild(section);
      return;
    }
    var grid = el('div', { class: 'charts' });
    section.appendChild(grid);
    var labels = assess.rows.map(function (r) { return r.material + ' ' + r.stage; });
    chart(grid, 'chart-assess', 'Largest third country\'s share of world supply [%] and the ' + assess.bloc +
      ' bloc\'s share [%], per material and stage', {
      type: 'bar',
      data: { labels: labels, datasets: [
        { label: 'largest third country', data: assess.rows.map(function (r) {
          return 100 * r.largest_third_country_share; }), backgroundColor: color(1, 0.8) },
        { label: assess.bloc + ' bloc', data: assess.rows.map(function (r) {
          return r.bloc_share === null ? null : 100 * r.bloc_share; }), backgroundColor: color(0, 0.8) }] },
      options: { indexAxis: 'y', scales: { x: { min: 0, max: 100, title: { display: true,
        text: 'share of world supply [%]' } }, y: { title: { display: true, text: 'material, stage' } } } }
    });
    section.appendChild(table([
      { key: 'material', label: 'material' }, { key: 'stage', label: 'stage' },
      { key: 'hhi', label: 'HHI', unit: '0-10000' }, { key: 'top_country', label: 'top country' },
      { key: 'top_share', label: 'top share', unit: '0-1' },
      { key: 'largest_third_country', label: 'largest third country' },
      { key: 'largest_third_country_share', label: 'its share', unit: '0-1' },
      { key: 'crma_single_country_breach', label: 'breach' },
      { key: 'bloc_share', label: assess.bloc + ' share', unit: '0-1' },
      { key: 'supply_risk', label: 'supply risk SR*' }], assess.rows));
    parent.appendChild(section);
  }

  function renderTables(parent, tables) {
    if (!tables.length) return;
    var section = el('section', { id: 'tables' }, [el('h2', { text: 'Tables' })]);
    tables.forEach(function (t) {
      var details = el('details', {}, [el('summary', { text: t.title + ' (' + t.rows.length + ' rows)' }),
        table(t.columns, t.rows)]);
      section.appendChild(details);
    });
    parent.appendChild(section);
  }

  function renderAssumptions(parent, model) {
    var section = el('section', { id: 'assumptions' }, [el('h2', { text: 'Assumptions and data sources' }),
      el('p', { text: 'Market-engine parameters the simulated materials use (data/estimates/market_parameters.csv; ' +
        '"estimate" marks a documented, overridable estimate). Scenario overrides such as [demand_growth] ' +
        'are in the scenario file.' })]);
    section.appendChild(el('details', {}, [el('summary', { text: 'Parameters (' + model.assumptions.length + ')' }),
      table([{ key: 'material', label: 'material' }, { key: 'parameter', label: 'parameter' },
        { key: 'value', label: 'value' }, { key: 'unit', label: 'unit' }, { key: 'estimate', label: 'estimate' },
        { key: 'scope', label: 'row' }, { key: 'basis', label: 'basis' }], model.assumptions)]));
    section.appendChild(el('h3', { text: 'Data sources' }));
    section.appendChild(table([{ key: 'tables', label: 'dataset tables' }, { key: 'source', label: 'source' },
      { key: 'licence', label: 'licence / terms' }], model.sources));
    if (model.notes.length) {
      section.appendChild(el('h3', { text: 'Notes of the run' }));
      section.appendChild(el('ul', {}, model.notes.map(function (n) { return el('li', { text: n }); })));
    }
    parent.appendChild(section);
  }

  // ---- compare view: several designs side by side (kind "compare") ---------------------------

  function verdictClass(verdict) { return verdict ? 'verdict-' + verdict : ''; }

  // The verdict: the two questions per design in a few figures, the first thing a reader sees.
  function renderCompareVerdict(parent, model) {
    if (!model.verdict || !model.verdict.length) return;
    var section = el('section', { class: 'compare-verdict', id: 'compare-verdict' },
      [el('h2', { text: 'Verdict' }),
        el('p', { text: 'Does each design strengthen supply security, and what does it cost? Physical shortage is ' +
          'essential use no buyer could get at any price it would pay, valued at base prices; the costs per unit are ' +
          'against ' + model.reference + '.' + (model.runs ? ' Under each figure: P5–P95 over ' + model.runs +
          ' runs per design.' : '') })]);
    var head = [el('th', { text: 'question' })];
    model.designs.forEach(function (d) { head.push(el('th', { text: d.name })); });
    var body = model.verdict.map(function (row) {
      var cells = [el('td', { text: row.label })];
      row.values.forEach(function (value, i) {
        var children = [el('span', { class: 'verdict-value', text: row.displays[i] })];
        if (row.bands[i]) children.push(el('div', { class: 'verdict-band', text: row.bands[i].display }));
        if (row.notes[i]) children.push(el('div', { class: 'verdict-note', text: row.notes[i] }));
        cells.push(el('td', { class: 'num', 'data-design': String(i),
          'data-value': value === null ? '' : String(value) }, children));
      });
      return el('tr', { 'data-key': row.key }, cells);
    });
    section.appendChild(el('div', { class: 'table-box' }, [el('table', { class: 'data compare verdict' },
      [el('thead', {}, [el('tr', {}, head)]), el('tbody', {}, body)])]));
    parent.appendChild(section);
  }

  function renderCompareScorecards(parent, model) {
    var section = el('section', { class: 'compare-scorecards', id: 'compare-scorecards' },
      [el('h2', { text: 'Scorecards side by side' }),
        el('p', { text: 'Each design\'s figure, its difference from ' + model.reference +
          ' (the first design) and the difference in plain words. Better or worse says which way the figure ' +
          'moves supply security or the costs of Dutch businesses and the treasury.' })]);
    if (model.summaries.length) {
      section.appendChild(el('ul', { class: 'compare-summaries' }, model.summaries.map(function (s) {
        return el('li', { text: s.text });
      })));
    }
    var groups = [];
    var byGroup = {};
    model.scorecards.forEach(function (line) {
      if (!byGroup[line.group]) { byGroup[line.group] = []; groups.push(line.group); }
      byGroup[line.group].push(line);
    });
    groups.forEach(function (group) {
      var head = [el('th', { text: 'figure' }), el('th', { text: 'unit' })];
      model.designs.forEach(function (d, i) {
        head.push(el('th', { text: d.name }));
        if (i > 0) head.push(el('th', { text: d.name + ' − ' + model.reference }));
      });
      head.push(el('th', { text: 'in plain words' }));
      var body = byGroup[group].map(function (line) {
        var cells = [el('td', { text: line.label }), el('td', { text: line.unit })];
        line.values.forEach(function (value, i) {
          cells.push(el('td', { class: 'num compare-value', 'data-design': String(i),
            'data-value': value === null ? '' : String(value), text: line.displays[i] }));
          if (i > 0) {
            cells.push(el('td', { class: 'num compare-difference ' + verdictClass(line.verdicts[i]),
              'data-design': String(i), 'data-value': line.differences[i] === null ? '' : String(line.differences[i]),
              text: line.difference_displays[i] + (line.verdicts[i] && line.verdicts[i] !== 'same' ?
                ' (' + line.verdicts[i] + ')' : '') }));
          }
        });
        cells.push(el('td', { class: 'words', text: line.sentences.slice(1).join(' ') }));
        return el('tr', { 'data-key': line.key }, cells);
      });
      section.appendChild(el('h3', { text: group }));
      section.appendChild(el('div', { class: 'table-box' }, [el('table', { class: 'data compare' },
        [el('thead', {}, [el('tr', {}, head)]), el('tbody', {}, body)])]));
    });
    model.design_scorecards.forEach(function (d) {
      var box = el('div', {});
      renderScorecards(box, d.cards);
      var heading = box.querySelector('h2');
      if (heading) heading.textContent = 'Scorecards of ' + d.design;
      section.appendChild(el('details', { class: 'design-scorecards' },
        [el('summary', { text: 'The scorecards of ' + d.design + ' in plain words (' + d.cards.length + ' figures)' }), box]));
    });
    parent.appendChild(section);
  }

  function renderCompareHeadline(parent, model) {
    if (!model.headline.length) return;
    var section = el('section', { id: 'compare-headline' }, [el('h2', { text: 'Headline figures' }),
      el('p', { text: 'The headline figures of each design\'s run (docs/simulation.md, Ensembles)' +
        (model.runs ? '; beside them the P5–P95 range over ' + model.runs + ' runs per design, with the median as a point.' : '.') })]);
    var grid = el('div', { class: 'charts' });
    section.appendChild(grid);
    model.headline.forEach(function (group, g) {
      var datasets = model.designs.map(function (d, i) {
        return { label: d.name, data: group.values[i], backgroundColor: color(i, 0.8), displays: group.displays[i] };
      });
      var positive = group.values.every(function (vs) { return vs.every(function (v) { return v === null || v > 0; }); });
      var flat = [].concat.apply([], group.values).filter(function (v) { return v !== null; });
      var spread = flat.length ? Math.max.apply(null, flat) / Math.max(Math.min.apply(null, flat), 1e-300) : 1;
      var logarithmic = positive && spread > 100;
      chart(grid, 'chart-compare-headline-' + g, group.title + ' [' + group.unit + ']' +
        (logarithmic ? ' (logarithmic scale)' : ''), {
        type: 'bar', data: { labels: group.labels, datasets: datasets },
        options: { scales: axes(group.labels.length > 1 ? 'material' : '', group.unit,
          logarithmic ? { type: 'logarithmic' } : { beginAtZero: true }),
          plugins: { tooltip: { callbacks: { label: function (ctx) {
            return ctx.dataset.label + ': ' + ctx.dataset.displays[ctx.dataIndex]; } } } } }
      });
      if (group.bands) {
        var bandSets = [];
        model.designs.forEach(function (d, i) {
          bandSets.push({ type: 'bar', label: d.name + ' P5–P95', data: group.bands.p5[i].map(function (low, k) {
            var high = group.bands.p95[i][k];
            return low === null || high === null ? null : [low, high]; }), backgroundColor: color(i, 0.35),
            borderColor: color(i), borderWidth: 1 });
          bandSets.push({ type: 'line', label: d.name + ' P50', data: group.bands.p50[i], showLine: false,
            pointRadius: 5, pointStyle: 'rectRot', borderColor: color(i), backgroundColor: color(i) });
        });
        chart(grid, 'chart-compare-bands-' + g, group.title + ': P5–P95 over ' + model.runs +
          ' runs, point P50 [' + group.unit + ']', {
          type: 'bar', data: { labels: group.labels, datasets: bandSets },
          options: { scales: axes(group.labels.length > 1 ? 'material' : '', group.unit,
            logarithmic ? { type: 'logarithmic' } : {}) }
        });
      }
    });
    parent.appendChild(section);
  }

  // Two datasets that shade the P5-P95 band of a line (the P5 edge is left out of the legend).
  function bandDatasets(label, band, i, scale) {
    var f = function (v) { return v === null ? null : scale * v; };
    return [
      { type: 'line', label: label + ' P5', data: band.p5.map(f), borderWidth: 0, pointRadius: 0,
        borderColor: color(i, 0.2), fill: false },
      { type: 'line', label: label + ' P5–P95', data: band.p95.map(f), borderWidth: 0, pointRadius: 0,
        borderColor: color(i, 0.2), backgroundColor: color(i, 0.15), fill: '-1' }];
  }

  var hideP5 = { legend: { labels: { filter: function (item) { return !/ P5$/.test(item.text); } } } };

  function renderCompareMaterial(parent, m, index, model) {
    var section = el('section', { class: 'material', id: 'compare-material-' + m.id },
      [el('h2', { text: m.name + ' (' + m.id + '): the designs\' paths' })]);
    var grid = el('div', { class: 'charts' });
    section.appendChild(grid);
    var prefix = 'chart-compare-' + index + '-';
    var banded = m.price.lines.some(function (l) { return l.band; });
    var shaded = banded ? '; shaded: P5–P95 over ' + model.runs + ' runs' : '';
    var priceSets = [];
    m.price.lines.forEach(function (line, i) {
      if (line.band) priceSets = priceSets.concat(bandDatasets(line.label, line.band, i, 1));
      priceSets.push({ label: line.label, data: line.values, borderColor: color(i), backgroundColor: color(i),
        borderWidth: 2, pointRadius: 2, fill: false });
    });
    chart(grid, prefix + 'price', m.name + ': world processing price per design [' + m.price.unit +
      '] (consumption-weighted mean over the regions' + shaded + ')', {
      type: 'line', data: { labels: m.years, datasets: priceSets },
      options: { scales: axes('year', 'price [' + m.price.unit + ']'), plugins: hideP5 }
    });
    var areas = m.shortfall.lines.map(function (l) { return l.area; }).filter(function (a) { return a; });
    chart(grid, prefix + 'shortfall', m.name + ': shortfall of ' + (areas[0] || 'EU27') + ' per design [' +
      m.shortfall.unit + ']' + (m.shortfall.lines.some(function (l) { return l.band; }) ? shaded : ''), {
      type: 'bar', data: { labels: m.years, datasets: m.shortfall.lines.reduce(function (sets, line, i) {
        if (line.band) sets = sets.concat(bandDatasets(line.label, line.band, i, 1));
        sets.push({ label: line.label, data: line.values, backgroundColor: color(i, 0.8) });
        return sets; }, []) },
      options: { scales: axes('year', 'shortfall [' + m.shortfall.unit + ']', { beginAtZero: true }), plugins: hideP5 }
    });
    var limit = 100 * m.concentration.limit;
    var lines = [];
    m.concentration.lines.forEach(function (line, i) {
      if (line.band) lines = lines.concat(bandDatasets(line.label, line.band, i, 100));
      lines.push({ label: line.label, data: line.share.map(function (s) { return s === null ? null : 100 * s; }),
        countries: line.country, borderColor: color(i), backgroundColor: color(i), pointRadius: 3 });
    });
    lines.push({ label: 'CRMA line (' + limit.toFixed(0) + '%)', data: m.years.map(function () { return limit; }),
      borderColor: '#000', borderDash: [6, 4], pointRadius: 0, borderWidth: 1.5 });
    chart(grid, prefix + 'concentration', m.name + ': largest third country\'s share of processing per design [%] ' +
      'against the CRMA benchmark of ' + limit.toFixed(0) + '%' +
      (m.concentration.lines.some(function (l) { return l.band; }) ? shaded : ''), {
      type: 'line', data: { labels: m.years, datasets: lines },
      options: { scales: axes('year', 'share of world production [%]', { min: 0, max: 100 }),
        plugins: { legend: hideP5.legend, tooltip: { callbacks: { label: function (ctx) {
          var c = ctx.dataset.countries && ctx.dataset.countries[ctx.dataIndex] ? ctx.dataset.countries[ctx.dataIndex] + ' ' : '';
          return ctx.dataset.label + ': ' + c + ctx.parsed.y.toFixed(1) + '%';
        } } } } }
    });
    parent.appendChild(section);
  }

  function renderNotes(parent, notes) {
    if (!notes.length) return;
    parent.appendChild(el('section', { id: 'notes' }, [el('h2', { text: 'Notes' }),
      el('ul', {}, notes.map(function (n) { return el('li', { text: n }); }))]));
  }

  function renderCompare(container, model) {
    container.appendChild(el('header', {}, [el('h1', { text: model.title }),
      el('p', { class: 'meta', text: model.designs.map(function (d) {
        return d.name + ' (' + d.years[0] + '–' + d.years[1] + ', seed ' + d.seed + ')'; }).join('; ') +
        '. Prices in USD per tonne of contained content, quantities in tonnes per year, money in USD.' })]));
    renderCompareVerdict(container, model);
    renderCompareScorecards(container, model);
    renderCompareHeadline(container, model);
    model.materials.forEach(function (m, i) { renderCompareMaterial(container, m, i, model); });
    renderTables(container, model.tables);
    renderNotes(container, model.notes);
  }

  // ---- ensemble view (kind "ensemble") --------------------------------------------------------

  function renderEnsemble(container, model) {
    container.appendChild(el('header', {}, [el('h1', { text: model.title }),
      el('p', { class: 'meta', text: 'Years ' + model.years[0] + '–' + model.years[1] + ', ' + model.runs +
        ' runs from ensemble seed ' + model.seed + '. Prices in USD per tonne of contained content, quantities in ' +
        'tonnes, money in USD.' })]));
    var section = el('section', { id: 'ensemble-figures', class: 'scorecards' }, [el('h2', { text: 'Headline figures: P5 / P50 / P95' })]);
    var grid = el('div', { class: 'cards' });
    model.figures.forEach(function (f) {
      grid.appendChild(el('article', { class: 'card', 'data-key': f.name, 'data-value': String(f.p50), 'data-unit': f.unit }, [
        el('h4', { text: f.label }), el('p', { class: 'figure', text: f.display }), el('p', { class: 'words', text: f.text })]));
    });
    section.appendChild(grid);
    container.appendChild(section);
    if (model.price_bands.length) {
      var prices = el('section', { id: 'ensemble-prices' }, [el('h2', { text: 'World price: P5–P95 bands' })]);
      var pgrid = el('div', { class: 'charts' });
      prices.appendChild(pgrid);
      model.price_bands.forEach(function (b, i) {
        chart(pgrid, 'chart-ensemble-price-' + i, b.name + ': world processing price over ' + model.runs +
          ' runs, bar P5–P95, point P50 [' + b.unit + ']', {
          type: 'bar', data: { labels: b.labels, datasets: [
            { type: 'bar', label: 'P5–P95', data: b.p5.map(function (low, k) { return [low, b.p95[k]]; }),
              backgroundColor: color(0, 0.35), borderColor: color(0), borderWidth: 1 },
            { type: 'line', label: 'P50', data: b.p50, showLine: false, pointRadius: 6, pointStyle: 'rectRot',
              borderColor: color(1), backgroundColor: color(1) }] },
          options: { scales: axes('', 'price [' + b.unit + ']') }
        });
      });
      container.appendChild(prices);
    }
    model.paths.forEach(function (m, i) {
      var section = el('section', { class: 'material', id: 'ensemble-material-' + m.id },
        [el('h2', { text: m.name + ' (' + m.id + '): yearly bands over ' + model.runs + ' runs' })]);
      var grid = el('div', { class: 'charts' });
      section.appendChild(grid);
      [['price', 'world processing price', 'USD/t', 1], ['shortfall', 'EU shortfall', 't/yr', 1],
        ['share', 'largest third country\'s share of processing', '%', 100]].forEach(function (q) {
        var band = m[q[0]];
        if (!band) return;
        var sets = bandDatasets('', band, 0, q[3]).map(function (d) { d.label = d.label.trim(); return d; });
        sets.push({ type: 'line', label: 'P50', data: band.p50.map(function (v) { return v === null ? null : q[3] * v; }),
          borderColor: color(0), backgroundColor: color(0), borderWidth: 2, pointRadius: 2, fill: false });
        if (q[0] === 'share') {
          sets.push({ type: 'line', label: 'CRMA line (' + (100 * m.limit).toFixed(0) + '%)',
            data: m.years.map(function () { return 100 * m.limit; }), borderColor: '#000', borderDash: [6, 4],
            pointRadius: 0, borderWidth: 1.5 });
        }
        chart(grid, 'chart-ensemble-' + i + '-' + q[0], m.name + ': ' + q[1] + ' per year, P50 and shaded P5–P95 [' +
          q[2] + ']', {
          type: 'line', data: { labels: m.years, datasets: sets },
          options: { scales: axes('year', q[1] + ' [' + q[2] + ']', q[0] === 'share' ? { min: 0, max: 100 } :
            { beginAtZero: q[0] === 'shortfall' }), plugins: { legend: { labels: { filter: function (item) {
            return item.text !== 'P5'; } } } } }
        });
      });
      container.appendChild(section);
    });
    var dist = el('section', { id: 'ensemble-distributions' }, [el('h2', { text: 'Distribution of the headline figures over the runs' })]);
    var dgrid = el('div', { class: 'charts' });
    dist.appendChild(dgrid);
    model.distributions.forEach(function (h, i) {
      chart(dgrid, 'chart-ensemble-distribution-' + i, h.label + ': runs per range [' + h.unit + ']', {
        type: 'bar', data: { labels: h.labels, datasets: [{ label: 'runs', data: h.counts, backgroundColor: color(i, 0.75) }] },
        options: { scales: axes(h.unit, 'runs', { beginAtZero: true, ticks: { precision: 0 } }),
          plugins: { legend: { display: false } } }
      });
    });
    container.appendChild(dist);
    renderTables(container, model.tables);
    renderNotes(container, model.notes);
  }

  function render(container, model) {
    charts.forEach(function (c) { c.destroy(); });
    charts = [];
    container.innerHTML = '';
    if (model.kind === 'compare' || model.kind === 'ensemble') {
      if (model.kind === 'compare') renderCompare(container, model);
      else renderEnsemble(container, model);
      container.appendChild(el('footer', { text: 'Written by critmin. The figures are model results on public ' +
        'data and documented estimates; see docs/simulation.md, docs/scorecards.md and docs/report.md.' }));
      return;
    }
    container.appendChild(el('header', {}, [el('h1', { text: model.title }),
      el('p', { class: 'meta', text: 'Years ' + model.years[0] + '–' + model.years[1] + ', markets calibrated on ' +
        model.base_year + ', seed ' + model.seed + '. Prices in USD per tonne of contained content, quantities ' +
        'in tonnes per year, money in USD.' })]));
    renderScorecards(container, model.scorecards);
    model.materials.forEach(function (m, i) { renderMaterial(container, m, i); });
    renderAssess(container, model.assess);
    renderTables(container, model.tables);
    renderAssumptions(container, model);
    container.appendChild(el('footer', { text: 'Written by critmin. The figures are model results on public ' +
      'data and documented estimates; see docs/simulation.md and docs/report.md.' }));
  }

  window.critminReport = { render: render, formatNumber: formatNumber };
})();
