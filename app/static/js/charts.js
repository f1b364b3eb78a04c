// Draws every <canvas data-chart="{...}"> with the Chart.js served by the platform. The
// description is JSON: {type, labels, datasets: [{label, data}], percent}. The table beside each
// chart holds the same figures for those who would rather read them.
(function () {
  const palette = ["#1f5f8b", "#c2410c", "#15803d", "#7c3aed", "#b91c1c", "#0e7490", "#a16207"];
  document.querySelectorAll("canvas[data-chart]").forEach((canvas) => {
    const spec = JSON.parse(canvas.dataset.chart);
    const datasets = spec.datasets.map((set, index) => ({
      ...set,
      backgroundColor: spec.type === "line" ? palette[index % palette.length] + "33" : palette[index % palette.length],
      borderColor: palette[index % palette.length],
      fill: spec.type === "line",
      tension: 0.2,
    }));
    const format = new Intl.NumberFormat("fr-FR", spec.percent ? { style: "percent", maximumFractionDigits: 1 } : {});
    new window.Chart(canvas, {
      type: spec.type,
      data: { labels: spec.labels, datasets: datasets },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        locale: "fr-FR",
        plugins: {
          legend: { display: datasets.length > 1 },
          tooltip: { callbacks: { label: (item) => `${item.dataset.label} : ${format.format(item.parsed.y)}` } },
        },
        scales: { y: { beginAtZero: true, ticks: { callback: (value) => format.format(value) } } },
      },
    });
  });
})();
