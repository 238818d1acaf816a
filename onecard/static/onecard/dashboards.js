// The sales dashboards (analytics/dashboards/dashboard.html): ECharts draws each chart from the figures the page
// embeds with json_script. A click on a bar, slice or point opens the list behind it (the series' drill URL plus
// the category's key). The last day or month of a time chart is not over yet: it is drawn apart (a lighter,
// outlined bar or a dashed line, "partial" in the legend and tooltip), so an unfinished period is no cliff.
(function () {
  const dataEl = document.getElementById("dashboard-data");
  if (!dataEl || typeof echarts === "undefined") { return; }
  const charts = JSON.parse(dataEl.textContent);
  const palette = ["#c2410c", "#1d4ed8", "#15803d", "#b45309", "#7c3aed", "#0e7490", "#be185d", "#6b7280"];
  const instances = [];

  const dot = color => '<span style="display:inline-block;margin-right:4px;border-radius:50%;width:9px;height:9px;background:' + color + '"></span>';
  const shown = (value, unit) => unit === "fen" ? value / 100 : value;
  const format = (value, unit) => {
    if (value === null || value === undefined || value === "-") { return "–"; }
    return unit === "fen" ? "¥" + (value / 100).toLocaleString(undefined, {minimumFractionDigits: 2, maximumFractionDigits: 2})
      : Number(value).toLocaleString();
  };

  // One series split in two: the complete buckets, and the last (partial) one alone. Every partial part bears the
  // one name "partial", so the legend shows it once.
  function splitBars(chart, s, index, axis) {
    const last = s.values.length - 1;
    const color = palette[index % palette.length];
    const complete = s.values.map((v, i) => i === last && chart.partial ? "-" : shown(v, s.unit));
    const drawn = [{
      name: s.label, type: "bar", stack: "s" + index, yAxisIndex: axis, data: complete,
      itemStyle: {color}, meta: {drill: s.drill, unit: s.unit}
    }];
    if (chart.partial) {
      drawn.push({
        name: chart.partialLabel, type: "bar", stack: "s" + index, yAxisIndex: axis,
        data: s.values.map((v, i) => i === last ? shown(v, s.unit) : "-"),
        itemStyle: {color, opacity: .35, borderColor: color, borderWidth: 1.5, borderType: "dashed"},
        meta: {drill: s.drill, unit: s.unit, partial: true}
      });
    }
    return drawn;
  }

  function splitLine(chart, s, index, axis, type) {
    const last = s.values.length - 1;
    const color = palette[index % palette.length];
    const values = s.values.map(v => shown(v, s.unit));
    const drawn = [{
      name: s.label, type, yAxisIndex: axis, symbolSize: 5, itemStyle: {color}, lineStyle: {color},
      data: values.map((v, i) => i === last && chart.partial ? "-" : v), meta: {drill: s.drill, unit: s.unit}
    }];
    if (chart.partial && last > 0) {
      drawn.push({
        name: chart.partialLabel, type, yAxisIndex: axis, symbol: "emptyCircle", symbolSize: 7,
        itemStyle: {color}, lineStyle: {color, type: "dashed"},
        data: values.map((v, i) => i >= last - 1 ? v : "-"), meta: {drill: s.drill, unit: s.unit, partial: true}
      });
    }
    return drawn;
  }

  function timeOption(chart) {
    const units = [...new Set(chart.series.map(s => s.unit))];
    const series = chart.series.flatMap((s, index) => {
      const axis = units.indexOf(s.unit);
      // A count beside an amount (sales beside takings) is a line on its own axis.
      const asLine = chart.shape === "line" || axis > 0;
      return asLine ? splitLine(chart, s, index, axis, "line") : splitBars(chart, s, index, axis);
    });
    return {
      color: palette,
      legend: {top: 0, type: "scroll"},
      grid: {left: 60, right: units.length > 1 ? 50 : 20, top: 40, bottom: 30},
      tooltip: {
        trigger: "axis",
        formatter: items => {
          const i = items[0].dataIndex;
          const partial = chart.partial && i === chart.labels.length - 1;
          return chart.labels[i] + (partial ? " <b>(" + chart.partialLabel + ")</b>" : "") + "<br>"
            + chart.series.map((s, n) => dot(palette[n % palette.length]) + s.label + ": " + format(s.values[i], s.unit)).join("<br>");
        }
      },
      xAxis: {type: "category", data: chart.labels},
      yAxis: units.map((unit, i) => ({
        type: "value", position: i ? "right" : "left", minInterval: unit === "fen" ? 0 : 1, splitLine: {show: !i},
        axisLabel: {formatter: v => unit === "fen" ? "¥" + v.toLocaleString() : v.toLocaleString()}
      })),
      series
    };
  }

  function pieOption(chart) {
    const s = chart.series[0];
    return {
      color: palette,
      tooltip: {trigger: "item", formatter: p => p.marker + p.name + ": " + format(s.values[p.dataIndex], s.unit) + " (" + p.percent + "%)"},
      legend: {type: "scroll", orient: "vertical", right: 0, top: "middle"},
      series: [{
        name: s.label, type: "pie", radius: ["35%", "65%"], center: ["38%", "50%"], meta: {drill: s.drill, unit: s.unit},
        label: {show: false}, data: chart.labels.map((label, i) => ({name: label, value: shown(s.values[i], s.unit)}))
      }]
    };
  }

  function barOption(chart) {
    const s = chart.series[0];
    const extra = chart.series.slice(1);
    return {
      color: palette,
      grid: {left: 120, right: 30, top: 10, bottom: 30},
      tooltip: {
        trigger: "axis", axisPointer: {type: "shadow"},
        formatter: items => {
          const i = items[0].dataIndex;
          return chart.labels[i] + "<br>" + [s, ...extra].map(x => x.label + ": " + format(x.values[i], x.unit)).join("<br>");
        }
      },
      xAxis: {type: "value", minInterval: s.unit === "fen" ? 0 : 1,
        axisLabel: {formatter: v => s.unit === "fen" ? "¥" + v.toLocaleString() : v.toLocaleString()}},
      yAxis: {type: "category", inverse: true, data: chart.labels, axisLabel: {width: 110, overflow: "truncate"}},
      series: [{name: s.label, type: "bar", data: s.values.map(v => shown(v, s.unit)), meta: {drill: s.drill, unit: s.unit}}]
    };
  }

  charts.forEach(chart => {
    const el = document.getElementById("chart-" + chart.name);
    if (!el) { return; }
    const instance = echarts.init(el);
    const option = chart.shape === "pie" ? pieOption(chart) : chart.shape === "bar" ? barOption(chart) : timeOption(chart);
    if (!chart.keys.length) {
      option.graphic = {type: "text", left: "center", top: "middle", style: {text: "—", fontSize: 28, fill: "#9ca3af"}};
    }
    instance.setOption(option);
    instance.on("click", params => {
      const drawn = option.series[params.seriesIndex];
      const drill = drawn && drawn.meta && drawn.meta.drill;
      const key = chart.keys[params.dataIndex];
      if (drill && key !== undefined) { window.location.href = drill + encodeURIComponent(key); }
    });
    el.style.cursor = "pointer";
    instances.push(instance);
  });

  window.addEventListener("resize", () => instances.forEach(c => c.resize()));
  // On paper the charts are narrower than on screen: draw them again at the printed size, and back after.
  window.addEventListener("beforeprint", () => instances.forEach(c => c.resize()));
  window.addEventListener("afterprint", () => instances.forEach(c => c.resize()));
  window.matchMedia("print").addEventListener("change", () => instances.forEach(c => c.resize()));
})();
