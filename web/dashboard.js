// critmin dashboard: the page of `critmin serve`. It talks only to the JSON API (docs/api.md) and
// draws job results with the report's script (critminReport.render), so the dashboard and the
// HTML report show the same figures.
(function () {
  'use strict';

  var api = '/api/v1';
  var scenarios = [];
  var polling = null;

  function $(id) { return document.getElementById(id); }

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (text !== undefined) node.textContent = text;
    return node;
  }

  // fetch + JSON; rejects with the API's error message.
  function request(method, path, body) {
    var init = { method: method, headers: {} };
    if (body !== undefined) {
      init.headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    return fetch(path, init).then(function (res) {
      return res.text().then(function (text) {
        var parsed = null;
        try { parsed = JSON.parse(text); } catch (e) { parsed = null; }
        if (!res.ok) throw new Error((parsed && parsed.error) || ('HTTP ' + res.status));
        return parsed;
      });
    });
  }

  function showPanel(id) {
    document.querySelectorAll('nav.tabs button').forEach(function (b) {
      b.classList.toggle('active', b.getAttribute('data-panel') === id);
    });
    document.querySelectorAll('.panel').forEach(function (p) { p.classList.toggle('active', p.id === id); });
  }

  // ---- dataset ------------------------------------------------------------------------------
  var assessColumns = [
    ['material', 'material', ''], ['stage', 'stage', ''], ['hhi', 'HHI', '0-10000'],
    ['top_country', 'top country', ''], ['top_share', 'top share', '0-1'],
    ['largest_third_country', 'largest third country', ''],
    ['largest_third_country_share', 'its share', '0-1'], ['crma_single_country_breach', 'breach', ''],
    ['bloc_share', 'bloc share', '0-1'], ['supply_risk', 'supply risk SR*', '']];

  function assessQuery(format) {
    var params = new URLSearchParams();
    if ($('assess-material').value.trim()) params.set('material', $('assess-material').value.trim());
    params.set('stage', $('assess-stage').value);
    if ($('assess-bloc').value.trim()) params.set('bloc', $('assess-bloc').value.trim());
    params.set('breaches_only', $('assess-breaches').checked ? 'true' : 'false');
    if (format) params.set('format', format);
    return api + '/assess?' + params.toString();
  }

  function runAssess(event) {
    if (event) event.preventDefault();
    $('assess-error').textContent = '';
    request('GET', assessQuery()).then(function (rows) {
      var table = el('table', { class: 'data', id: 'assess-rows' });
      var head = el('tr');
      assessColumns.forEach(function (c) {
        head.appendChild(el('th', {}, c[2] ? c[1] + ' [' + (c[2] === '0-1' ? '%' : c[2]) + ']' : c[1]));
      });
      table.appendChild(el('thead')).appendChild(head);
      var body = table.appendChild(el('tbody'));
      rows.forEach(function (r) {
        var tr = body.appendChild(el('tr'));
        assessColumns.forEach(function (c) {
          var td = tr.appendChild(el('td', {}, critminReport.formatNumber(r[c[0]], c[2])));
          if (typeof r[c[0]] === 'number') td.className = 'num';
        });
      });
      $('assess-table').innerHTML = '';
      $('assess-table').appendChild(table);
      $('assess-count').textContent = rows.length + ' material-stage rows';
      var downloads = $('assess-downloads');
      downloads.innerHTML = '';
      downloads.appendChild(el('a', { href: assessQuery('csv') }, 'CSV'));
      downloads.appendChild(document.createTextNode(' · '));
      downloads.appendChild(el('a', { href: assessQuery('xlsx') }, 'XLSX'));
      downloads.appendChild(document.createTextNode(' · '));
      downloads.appendChild(el('a', { href: assessQuery('json') }, 'JSON'));
    }).catch(function (e) { $('assess-error').textContent = e.message; });
  }

  // ---- dependency ---------------------------------------------------------------------------
  // GET /dependency: the figures of `critmin assess --region R`; the total comes from the server,
  // which counts each shared basket once, so nothing is summed here.
  function dependencyQuery() {
    var params = new URLSearchParams();
    params.set('region', $('dependency-region').value.trim() || 'NLD');
    if ($('dependency-material').value.trim()) params.set('material', $('dependency-material').value.trim());
    params.set('stage', $('dependency-stage').value);
    return api + '/dependency?' + params.toString();
  }

  function partnersText(partners) {
    return partners.map(function (p) {
      return p.iso3 + ' ' + critminReport.formatNumber(p.share, '0-1') + '%';
    }).join(', ');
  }

  function runDependency(event) {
    if (event) event.preventDefault();
    $('dependency-error').textContent = '';
    request('GET', dependencyQuery()).then(function (answer) {
      var region = answer.region;
      var table = el('table', { class: 'data', id: 'dependency-rows', 'data-region': region });
      var head = el('tr');
      ['material', 'stage', region + ' imports [EUR]', region + ' imports [USD]', 'China [%]',
        'main partners (share of value)', 'shared basket'].forEach(function (t) { head.appendChild(el('th', {}, t)); });
      table.appendChild(el('thead')).appendChild(head);
      var body = table.appendChild(el('tbody'));
      answer.rows.forEach(function (r) {
        var tr = body.appendChild(el('tr', { 'data-material': r.material, 'data-stage': r.stage,
          'data-value-eur': String(r.value_eur), 'data-value-usd': String(r.value_usd),
          'data-china-share': String(r.china_share), 'data-shared-basket': String(r.shared_basket) }));
        tr.appendChild(el('td', {}, r.material));
        tr.appendChild(el('td', {}, r.stage));
        [[r.value_eur, 'EUR'], [r.value_usd, 'USD'], [r.china_share, '0-1']].forEach(function (v) {
          tr.appendChild(el('td', { class: 'num' }, critminReport.formatNumber(v[0], v[1])));
        });
        tr.appendChild(el('td', { class: 'partners' }, partnersText(r.main_partners)));
        tr.appendChild(el('td', { class: 'basket' }, r.shared_basket ? 'yes' : 'no'));
      });
      var t = answer.total;
      var foot = table.appendChild(el('tfoot')).appendChild(el('tr', { id: 'dependency-total',
        'data-value-eur': String(t.value_eur), 'data-value-usd': String(t.value_usd) }));
      foot.appendChild(el('th', { colspan: '2' }, 'total (each shared basket once)'));
      foot.appendChild(el('td', { class: 'num' }, critminReport.formatNumber(t.value_eur, 'EUR')));
      foot.appendChild(el('td', { class: 'num' }, critminReport.formatNumber(t.value_usd, 'USD')));
      foot.appendChild(el('td', { colspan: '3' }, t.codes + ' customs codes, ' + t.shared_codes +
        ' of them shared by several of these materials'));
      $('dependency-table').innerHTML = '';
      $('dependency-table').appendChild(table);
    }).catch(function (e) {
      $('dependency-table').innerHTML = '';
      $('dependency-error').textContent = e.message;
    });
  }

  // ---- scenarios and jobs -------------------------------------------------------------------
  function chooseScenario() {
    var s = scenarios[$('scenario-select').selectedIndex];
    if (!s) return;
    $('scenario-text').value = s.text;
    $('scenario-name').value = s.file;
  }

  // Adds the bill of materials to a job request when one is given (bom_csv, checked by the server).
  function withBom(body) {
    var bom = $('bom-text').value;
    if (bom.trim()) body.bom_csv = bom;
    return body;
  }

  function runJob(event) {
    if (event) event.preventDefault();
    $('scenario-error').textContent = '';
    request('POST', api + '/jobs', withBom({ kind: 'simulate', name: $('scenario-name').value || 'scenario.toml',
      scenario: $('scenario-text').value })).then(function () {
      refreshJobs();
    }).catch(function (e) { $('scenario-error').textContent = e.message; });
  }

  // The scenario schema (GET /scenario-reference), shown below the editor and filtered by table
  // or key.
  var scenarioKeys = [];
  function showScenarioHelp() {
    var filter = $('scenario-help-filter').value.trim().toLowerCase();
    var body = $('scenario-help-table').querySelector('tbody');
    body.textContent = '';
    scenarioKeys.forEach(function (k) {
      if (filter && (k.section + ' ' + k.key).toLowerCase().indexOf(filter) < 0) return;
      var range = k.min === null && k.max === null ? '' :
        (k.min === null ? '' : k.min) + ' to ' + (k.max === null ? '' : k.max);
      var row = el('tr');
      [k.section, k.key, k.type, k.unit, k.default, range, k.required, k.description].forEach(function (v) {
        row.appendChild(el('td', {}, String(v)));
      });
      body.appendChild(row);
    });
  }

  // ---- compare jobs -------------------------------------------------------------------------
  var compareOrder = [];  // the ticked designs in the order they were ticked: file names or '' (edited)

  function showCompareOrder() {
    var names = compareOrder.map(function (d) { return d === '' ? 'the edited scenario' : d; });
    $('compare-order').textContent = names.length ? 'reference: ' + names[0] +
      (names.length > 1 ? '; compared with: ' + names.slice(1).join(', ') : '') : '';
  }

  function tickDesign(event) {
    var box = event.target;
    var id = box.getAttribute('data-edited') ? '' : box.value;
    compareOrder = compareOrder.filter(function (d) { return d !== id; });
    if (box.checked) compareOrder.push(id);
    showCompareOrder();
  }

  function runCompare(event) {
    if (event) event.preventDefault();
    $('compare-error').textContent = '';
    var designs = compareOrder.map(function (d) {
      return d === '' ? { name: $('scenario-name').value || 'edited.toml', scenario: $('scenario-text').value } : d;
    });
    var runs = Number($('compare-runs').value || 0);
    request('POST', api + '/jobs', withBom({ kind: 'compare', scenarios: designs, runs: runs })).then(function () {
      refreshJobs();
    }).catch(function (e) { $('compare-error').textContent = e.message; });
  }

  function progressText(job) {
    var p = job.progress;
    var text = ' ' + p.years_done + '/' + p.years_total + ' years';
    if (p.runs_total) text += ', ' + p.runs_done + '/' + p.runs_total + ' runs';
    return text;
  }

  function refreshJobs() {
    return request('GET', api + '/jobs').then(function (jobs) {
      var body = $('jobs').querySelector('tbody');
      body.innerHTML = '';
      var busy = false;
      jobs.forEach(function (job) {
        if (job.status === 'queued' || job.status === 'running') busy = true;
        var tr = el('tr', { 'data-job-id': String(job.id), 'data-status': job.status });
        tr.appendChild(el('td', {}, String(job.id)));
        tr.appendChild(el('td', { class: 'kind' }, job.kind));
        tr.appendChild(el('td', {}, job.name));
        tr.appendChild(el('td', { class: 'status' }, job.status + (job.error ? ': ' + job.error : '')));
        var progress = el('td');
        var p = job.progress;
        var bar = el('progress', { max: String((p.years_total || 1) + (p.runs_total || 0)),
          value: String(p.years_done + (p.runs_done || 0)) });
        progress.appendChild(bar);
        progress.appendChild(document.createTextNode(progressText(job)));
        tr.appendChild(progress);
        var links = el('td');
        if (job.results) {
          var view = el('button', { type: 'button', class: 'view-job', 'data-job-id': String(job.id) }, 'view');
          view.addEventListener('click', function () { viewJob(job); });
          links.appendChild(view);
          [['HTML report', job.results.html], ['JSON', job.results.summary], ['CSV', job.results.csv],
            ['XLSX', job.results.xlsx]].forEach(function (l) {
            links.appendChild(document.createTextNode(' '));
            links.appendChild(el('a', { href: l[1] }, l[0]));
          });
        }
        tr.appendChild(links);
        body.appendChild(tr);
      });
      if (busy && !polling) polling = setInterval(refreshJobs, 500);
      if (!busy && polling) { clearInterval(polling); polling = null; }
      return jobs;
    });
  }

  function viewJob(job) {
    return request('GET', job.results.report).then(function (model) {
      $('results-empty').textContent = '';
      var downloads = $('results-downloads');
      downloads.innerHTML = 'Job ' + job.id + ' (' + job.name + '): ';
      [['HTML report', job.results.html], ['JSON', job.results.summary], ['CSV', job.results.csv],
        ['XLSX', job.results.xlsx]].forEach(function (l, i) {
        if (i) downloads.appendChild(document.createTextNode(' · '));
        downloads.appendChild(el('a', { href: l[1] }, l[0]));
      });
      var container = $('results-report');
      container.setAttribute('data-job-id', String(job.id));
      showPanel('panel-results');
      critminReport.render(container, model);
    });
  }

  function start() {
    document.querySelectorAll('nav.tabs button').forEach(function (b) {
      b.addEventListener('click', function () { showPanel(b.getAttribute('data-panel')); });
    });
    $('assess-form').addEventListener('submit', runAssess);
    $('dependency-form').addEventListener('submit', runDependency);
    $('scenario-form').addEventListener('submit', runJob);
    $('scenario-select').addEventListener('change', chooseScenario);
    $('scenario-help-filter').addEventListener('input', showScenarioHelp);
    request('GET', api + '/scenario-reference').then(function (keys) {
      scenarioKeys = keys;
      showScenarioHelp();
    });
    request('GET', api + '/materials').then(function (materials) {
      materials.forEach(function (m) { $('material-list').appendChild(el('option', { value: m.id }, m.name)); });
    });
    $('compare-form').addEventListener('submit', runCompare);
    $('compare-edited').addEventListener('change', tickDesign);
    request('GET', api + '/scenarios').then(function (list) {
      scenarios = list;
      list.forEach(function (s) {
        $('scenario-select').appendChild(el('option', { value: s.file }, s.file + ' (' + s.years[0] + '–' + s.years[1] + ')'));
        var label = el('label', { class: 'inline' });
        var box = el('input', { type: 'checkbox', value: s.file, class: 'compare-example' });
        box.addEventListener('change', tickDesign);
        label.appendChild(box);
        label.appendChild(document.createTextNode(' ' + s.file + ' (' + s.years[0] + '–' + s.years[1] + ')'));
        $('compare-designs').appendChild(label);
      });
      chooseScenario();
      document.body.setAttribute('data-ready', 'true');
    });
    refreshJobs();
    runAssess();
    runDependency();
  }

  window.critminDashboard = { refreshJobs: refreshJobs, viewJob: viewJob, showPanel: showPanel,
    runDependency: runDependency };
  start();
})();
