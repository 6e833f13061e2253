// zonegate console: small enhancements over pages that work without JavaScript.
// - The monitoring centre draws its charts (Chart.js) from the JSON data island `#monitor-data`.
// - The submission form adds an item row in place instead of posting the form back.
(function () {
  'use strict';

  // Okabe–Ito colours: distinguishable with the common colour-vision deficiencies.
  var PALETTE = ['#0072B2', '#E69F00', '#009E73', '#CC79A7', '#56B4E9', '#D55E00', '#F0E442', '#000000'];

  function reducedMotion() {
    return window.matchMedia && window.matchMedia('(prefers-reduced-motion: reduce)').matches;
  }

  function yuan(fen) {
    return fen / 100;
  }

  // The day axis names days as MM-DD (the range, with its year, is in the form above the charts); tooltips
  // keep the full date.
  var dayAxis = {
    ticks: { maxRotation: 0, autoSkipPadding: 12, callback: function (value) { return this.getLabelForValue(value).slice(5); } }
  };

  function drawCharts() {
    var island = document.getElementById('monitor-data');
    if (!island || typeof window.Chart === 'undefined') {
      return;
    }
    var data = JSON.parse(island.textContent);
    var common = { responsive: true, maintainAspectRatio: false, animation: reducedMotion() ? false : undefined };
    var flows = document.getElementById('chart-flows');
    if (flows) {
      new window.Chart(flows, {
        type: 'bar',
        data: {
          labels: data.days,
          datasets: data.flows.map(function (flow, index) {
            return { label: flow.label, data: flow.counts, backgroundColor: PALETTE[index % PALETTE.length] };
          })
        },
        options: Object.assign({}, common, {
          scales: {
            x: Object.assign({ stacked: true }, dayAxis),
            y: { stacked: true, beginAtZero: true, ticks: { precision: 0 } }
          }
        })
      });
    }
    var treatments = document.getElementById('chart-treatments');
    if (treatments) {
      new window.Chart(treatments, {
        type: 'doughnut',
        data: {
          labels: data.treatments.labels,
          datasets: [{ label: data.text.declarations, data: data.treatments.counts, backgroundColor: PALETTE }]
        },
        options: common
      });
    }
    var taxes = document.getElementById('chart-taxes');
    if (taxes) {
      new window.Chart(taxes, {
        type: 'line',
        data: {
          labels: data.days,
          datasets: [
            { label: data.text.payable, data: data.taxes.payable_fen.map(yuan), borderColor: PALETTE[0], backgroundColor: PALETTE[0] },
            { label: data.text.waived, data: data.taxes.waived_fen.map(yuan), borderColor: PALETTE[1], backgroundColor: PALETTE[1] }
          ]
        },
        options: Object.assign({}, common, {
          scales: { x: dayAxis, y: { beginAtZero: true, title: { display: true, text: data.text.cny } } }
        })
      });
    }
  }

  // Renumbers a copied item row from index `from` to `to`: names (`items[0].hs`), ids (`f-items-0-hs`),
  // labels, descriptions and the legend.
  function renumber(row, from, to) {
    var name = 'items[' + from + ']';
    var id = 'f-items-' + from;
    function swap(value) {
      return value.split(name).join('items[' + to + ']').split(id).join('f-items-' + to);
    }
    row.querySelectorAll('[name],[id],[for],[aria-describedby]').forEach(function (element) {
      ['name', 'id', 'for', 'aria-describedby'].forEach(function (attribute) {
        if (element.hasAttribute(attribute)) {
          element.setAttribute(attribute, swap(element.getAttribute(attribute)));
        }
      });
    });
    row.setAttribute('data-index', String(to));
    var legend = row.querySelector('legend');
    if (legend) {
      legend.textContent = row.getAttribute('data-legend').replace('{n}', String(to + 1));
    }
  }

  function addItemRow(button) {
    var rows = document.querySelectorAll('.items > .item');
    var last = rows[rows.length - 1];
    if (!last) {
      return false;
    }
    var from = Number(last.getAttribute('data-index'));
    var copy = last.cloneNode(true);
    copy.querySelectorAll('.field-errors').forEach(function (element) { element.remove(); });
    copy.querySelectorAll('input').forEach(function (input) {
      input.value = '';
      input.removeAttribute('aria-invalid');
    });
    copy.querySelectorAll('[aria-describedby]').forEach(function (element) {
      var kept = element.getAttribute('aria-describedby').split(' ').filter(function (ref) {
        return ref.indexOf('e-') !== 0;
      });
      if (kept.length) {
        element.setAttribute('aria-describedby', kept.join(' '));
      } else {
        element.removeAttribute('aria-describedby');
      }
    });
    copy.querySelectorAll('details').forEach(function (details) { details.open = false; });
    // Only the first item is required: a row left blank is dropped.
    copy.querySelectorAll('abbr.required').forEach(function (element) { element.remove(); });
    copy.querySelectorAll('[required]').forEach(function (element) { element.removeAttribute('required'); });
    renumber(copy, from, from + 1);
    last.parentNode.insertBefore(copy, last.nextSibling);
    var first = copy.querySelector('input');
    if (first) {
      first.focus();
    }
    return true;
  }

  function enhanceItems() {
    var button = document.querySelector('[data-add-item]');
    if (!button) {
      return;
    }
    button.addEventListener('click', function (event) {
      if (addItemRow(button)) {
        event.preventDefault();
      }
    });
  }

  function focusErrors() {
    var summary = document.getElementById('error-summary');
    if (summary) {
      summary.focus();
    }
  }

  drawCharts();
  enhanceItems();
  focusErrors();
})();
