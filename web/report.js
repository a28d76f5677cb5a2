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

  function render(container, model) {
    charts.forEach(function (c) { c.destroy(); });
    charts = [];
    container.innerHTML = '';
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
