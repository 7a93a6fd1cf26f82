// Interface text in English and Korean; elements carry data-i18n="key".
"use strict";
const STRINGS = {
  en: {
    nav_draw: "Draw", nav_runs: "Runs", draw_title: "Draw a digit", clear: "Clear",
    random: "Random test image",
    hint: "Draw with the mouse, a pen or a finger; the network answers when you lift it.",
    prediction: "Prediction", seen_input: "What the network sees (28×28)",
    probabilities: "Probabilities", inside: "Inside the network", filters: "First layer's filters",
    filters_linear: "First layer's weights, one 28×28 picture per hidden unit",
    inside_empty: "Draw a digit to see every layer respond.",
    feature_maps: "Feature maps", hidden_units: "Hidden activations", units: "units",
    shown: "shown", of: "of", channels: "channels",
    footer: "Everything on this page is computed by dlscratch on this computer; nothing you draw is stored.",
    truth: "True label", predicted_as: "predicted", correct: "correct", wrong: "wrong",
    thinking: "Thinking…", model: "Model", parameters: "parameters", from: "from",
    error: "Error", blank: "The canvas is empty: draw a digit.",
    runs_title: "Training runs", runs_hint: "Tick one run to see it, two to overlay their curves. Runs still training refresh every few seconds.",
    col_name: "Run", col_model: "Model", col_dataset: "Data set", col_epochs: "Epochs",
    col_acc: "Test accuracy", col_status: "Status", running: "training…", finished: "finished",
    stopped: "stopped", no_runs: "No runs in this folder yet: start one with `dlscratch train`.",
    curves: "Learning curves", loss: "Loss", accuracy: "Accuracy", epoch: "epoch",
    train: "train", test: "test", confusion_matrix: "Confusion matrix",
    misclassified: "Misclassified test images", learning_curves: "Learning curves (PNG)",
    filters_png: "First convolution's filters", no_metrics: "no epochs recorded yet",
    no_plots: "No plots yet: they are drawn when the run finishes.",
    lang_button: "한국어",
  },
  ko: {
    nav_draw: "그리기", nav_runs: "학습 기록", draw_title: "숫자를 그려 보세요", clear: "지우기",
    random: "무작위 테스트 이미지",
    hint: "마우스, 펜, 손가락으로 그리세요. 손을 떼면 신경망이 답합니다.",
    prediction: "예측", seen_input: "신경망이 보는 입력 (28×28)",
    probabilities: "확률", inside: "신경망의 속", filters: "첫 번째 층의 필터",
    filters_linear: "첫 번째 층의 가중치 (은닉 뉴런마다 28×28 그림 하나)",
    inside_empty: "숫자를 그리면 각 층의 반응이 보입니다.",
    feature_maps: "특징 맵", hidden_units: "은닉층 활성화", units: "뉴런",
    shown: "표시", of: "/", channels: "채널",
    footer: "이 페이지의 모든 계산은 이 컴퓨터에서 dlscratch가 합니다. 그린 그림은 저장되지 않습니다.",
    truth: "정답", predicted_as: "예측", correct: "맞음", wrong: "틀림",
    thinking: "계산 중…", model: "모델", parameters: "매개변수", from: "출처",
    error: "오류", blank: "캔버스가 비어 있습니다. 숫자를 그려 주세요.",
    runs_title: "학습 기록", runs_hint: "하나를 선택하면 자세히 보이고, 두 개를 선택하면 곡선을 겹쳐 봅니다. 학습 중인 기록은 몇 초마다 새로 고칩니다.",
    col_name: "실행", col_model: "모델", col_dataset: "데이터셋", col_epochs: "에폭",
    col_acc: "테스트 정확도", col_status: "상태", running: "학습 중…", finished: "완료",
    stopped: "중단됨", no_runs: "아직 학습 기록이 없습니다. `dlscratch train`으로 시작하세요.",
    curves: "학습 곡선", loss: "손실", accuracy: "정확도", epoch: "에폭",
    train: "훈련", test: "테스트", confusion_matrix: "혼동 행렬",
    misclassified: "잘못 분류한 테스트 이미지", learning_curves: "학습 곡선 (PNG)",
    filters_png: "첫 번째 합성곱 층의 필터", no_metrics: "아직 기록된 에폭이 없습니다",
    no_plots: "아직 그림이 없습니다. 학습이 끝나면 그려집니다.",
    lang_button: "English",
  },
};

const I18N = {
  lang: (() => {
    try {
      const saved = localStorage.getItem("dlscratch-lang");
      if (saved === "en" || saved === "ko") return saved;
    } catch (e) { /* storage may be off */ }
    return (navigator.language || "en").toLowerCase().startsWith("ko") ? "ko" : "en";
  })(),
  listeners: [],
  t(key) { return (STRINGS[this.lang] && STRINGS[this.lang][key]) || STRINGS.en[key] || key; },
  apply() {
    document.documentElement.lang = this.lang;
    document.querySelectorAll("[data-i18n]").forEach((el) => { el.textContent = this.t(el.dataset.i18n); });
    const button = document.getElementById("lang");
    if (button) button.textContent = this.t("lang_button");
    this.listeners.forEach((f) => f());
  },
  set(lang) {
    this.lang = lang;
    try { localStorage.setItem("dlscratch-lang", lang); } catch (e) { /* ignore */ }
    this.apply();
  },
  onChange(f) { this.listeners.push(f); },
};

document.addEventListener("DOMContentLoaded", () => {
  const button = document.getElementById("lang");
  if (button) button.addEventListener("click", () => I18N.set(I18N.lang === "en" ? "ko" : "en"));
  I18N.apply();
});
