//! The console's languages and its message catalogue: every visible string of the console comes from here
//! (codes and rule ids from [`super::glossary`]).
//!
//! Chinese is the default, because the zone's users read Chinese first. `?lang=zh|en` chooses a language
//! and remembers it in the `zg_lang` cookie; otherwise the cookie, then `Accept-Language` (`en…` →
//! English), then Chinese.

use axum::extract::Query;
use axum::http::header::{ACCEPT_LANGUAGE, COOKIE};
use axum::http::request::Parts;

/// Name of the cookie that remembers the language.
pub(crate) const LANG_COOKIE: &str = "zg_lang";

/// A language of the console.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Lang {
    Zh,
    En,
}

impl Lang {
    pub(crate) const ALL: [Lang; 2] = [Lang::Zh, Lang::En];

    /// The value of `?lang=` and of the cookie.
    pub(crate) fn code(self) -> &'static str {
        match self {
            Lang::Zh => "zh",
            Lang::En => "en",
        }
    }

    /// The `lang` attribute of the page.
    pub(crate) fn html_tag(self) -> &'static str {
        match self {
            Lang::Zh => "zh-Hans",
            Lang::En => "en",
        }
    }

    /// The language's name in itself, for the switch.
    pub(crate) fn native_name(self) -> &'static str {
        match self {
            Lang::Zh => "中文",
            Lang::En => "English",
        }
    }

    /// What separates the entries of a short list in running text (`免税、保税`, `Exempt, Bonded`).
    pub(crate) fn list_separator(self) -> &'static str {
        match self {
            Lang::Zh => "、",
            Lang::En => ", ",
        }
    }

    fn parse(code: &str) -> Option<Lang> {
        Lang::ALL.into_iter().find(|lang| lang.code() == code)
    }

    /// The language chosen with `?lang=` in a query string, if any.
    pub(crate) fn from_query(query: Option<&str>) -> Option<Lang> {
        let Query(pairs) =
            Query::<Vec<(String, String)>>::try_from_uri(&format!("/?{}", query.unwrap_or("")).parse().ok()?).ok()?;
        pairs.iter().rev().find(|(name, _)| name == "lang").and_then(|(_, value)| Lang::parse(value))
    }

    /// The language of a request: `?lang=`, else the cookie, else `Accept-Language`, else Chinese.
    pub(crate) fn detect(parts: &Parts) -> Lang {
        Lang::from_query(parts.uri.query())
            .or_else(|| {
                let cookies = parts.headers.get_all(COOKIE).into_iter().filter_map(|v| v.to_str().ok());
                cookies
                    .flat_map(|header| header.split(';'))
                    .filter_map(|cookie| cookie.trim().strip_prefix(LANG_COOKIE)?.strip_prefix('='))
                    .find_map(Lang::parse)
            })
            .or_else(|| parts.headers.get(ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok()).and_then(from_accept_language))
            .unwrap_or(Lang::Zh)
    }
}

/// The preferred of Chinese and English in an `Accept-Language` header (by weight, then order).
fn from_accept_language(header: &str) -> Option<Lang> {
    let mut ranges: Vec<(u16, Lang)> = header
        .split(',')
        .filter_map(|range| {
            let mut parts = range.split(';');
            let tag = parts.next()?.trim().to_ascii_lowercase();
            let weight = parts
                .find_map(|parameter| parameter.trim().strip_prefix("q="))
                .map_or(1000, |q| (q.trim().parse::<f32>().unwrap_or(0.0).clamp(0.0, 1.0) * 1000.0) as u16);
            let lang = if tag == "en" || tag.starts_with("en-") {
                Lang::En
            } else if tag == "zh" || tag.starts_with("zh-") {
                Lang::Zh
            } else {
                return None;
            };
            (weight > 0).then_some((weight, lang))
        })
        .collect();
    // A stable sort keeps the header's order among equal weights.
    ranges.sort_by_key(|(weight, _)| std::cmp::Reverse(*weight));
    ranges.first().map(|(_, lang)| *lang)
}

/// The `Set-Cookie` value that remembers a language for a year.
pub(crate) fn lang_cookie(lang: Lang) -> String {
    format!("{LANG_COOKIE}={}; Path=/console; Max-Age=31536000; SameSite=Lax", lang.code())
}

/// Declares the catalogue once: `Key => "中文", "English";`.
macro_rules! messages {
    ($($key:ident => $zh:literal, $en:literal;)*) => {
        /// A message of the console.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub(crate) enum Msg { $($key),* }

        impl Msg {
            #[cfg(test)]
            const ALL: &'static [(Msg, &'static str)] = &[$((Msg::$key, stringify!($key))),*];

            fn texts(self) -> (&'static str, &'static str) {
                match self { $(Msg::$key => ($zh, $en)),* }
            }
        }
    };
}

/// The text of a message in a language.
pub(crate) fn t(lang: Lang, key: Msg) -> &'static str {
    let (zh, en) = key.texts();
    match lang {
        Lang::Zh => zh,
        Lang::En => en,
    }
}

/// The text of a message with its `{name}` placeholders filled in.
pub(crate) fn tf(lang: Lang, key: Msg, values: &[(&str, &str)]) -> String {
    values.iter().fold(t(lang, key).to_owned(), |text, (name, value)| text.replace(&format!("{{{name}}}"), value))
}

messages! {
    // Frame and navigation.
    AppName => "zonegate 分线管理监管平台", "zonegate separated-line supervision";
    SkipToContent => "跳到正文", "Skip to content";
    MainNav => "主导航", "Main navigation";
    LanguageNav => "语言", "Language";
    Footer => "横琴粤澳深度合作区 · 分线管理海关监管", "Hengqin Guangdong–Macao In-Depth Cooperation Zone · customs supervision under separated-line management";
    NavDeclarations => "申报单", "Declarations";
    NavSubmit => "新建申报", "New declaration";
    NavMonitor => "监控中心", "Monitoring centre";
    NavEnterprises => "企业", "Enterprises";
    NavZones => "区域名单", "Zone lists";
    NavChain => "事件链校验", "Chain verification";
    NavAccounts => "账户管理", "Accounts";
    NavRisk => "风险布控", "Risk targeting";
    NavAlerts => "风险预警", "Risk alerts";
    Logout => "退出登录", "Log out";
    BackToStart => "返回首页", "Back to the start page";
    // Login.
    LoginTitle => "登录", "Log in";
    UserId => "用户名", "User id";
    Password => "密码", "Password";
    LoginFailed => "用户名或密码不正确。", "The user id or the password is not right.";
    // Error pages.
    ForbiddenTitle => "无权访问", "Not allowed";
    ForbiddenText => "您的角色无权查看此页面。如需访问，请联系本单位管理员。", "Your roles do not allow this page. Ask your administrator if you need it.";
    StaleFormText => "表单已过期或不是从本会话提交的。请重新加载页面后再试。", "The form has expired or did not come from this session. Reload the page and try again.";
    NotFoundTitle => "未找到", "Not found";
    NotFoundText => "没有此页面或记录。", "There is no such page or record.";
    InternalTitle => "系统错误", "Something went wrong";
    InternalText => "服务器出错，详情已记录在服务器日志中。", "The server failed; the details are in its log.";
    TooManyTitle => "尝试次数过多", "Too many attempts";
    TooManyText => "尝试次数过多，请稍后再试。", "Too many attempts. Wait a moment and try again.";
    BadRequestTitle => "请求有误", "Bad request";
    BadRequestText => "无法读取该请求。请返回后重试。", "The request could not be read. Go back and try again.";
    // Forms.
    ErrorSummaryTitle => "请更正以下问题", "Please correct these problems";
    Required => "必填", "required";
    ChooseOption => "— 请选择 —", "— choose —";
    Filters => "筛选", "Filters";
    ApplyFilters => "筛选", "Apply filters";
    ResetFilters => "清除筛选", "Clear filters";
    Show => "显示", "Show";
    // Declarations list.
    DeclarationsCaption => "申报单（按记录顺序）", "Declarations (in recording order)";
    NoDeclarations => "没有符合条件的申报单。", "No declaration matches.";
    Paging => "翻页", "Pages";
    FirstPage => "第一页", "First page";
    NextPage => "下一页", "Next page";
    Id => "编号", "Id";
    Reference => "申报编号", "Reference";
    Declarant => "申报人", "Declarant";
    Importer => "进口人", "Importer";
    Flow => "流向", "Flow";
    DeclaredOn => "申报日期", "Declared on";
    DeclaredFrom => "申报日期自", "Declared from";
    DeclaredTo => "申报日期至", "Declared to";
    Treatment => "监管方式", "Treatment";
    Treatments => "监管方式", "Treatments";
    Channel => "通道", "Channel";
    RiskExplanation => "风险判别依据", "Why this channel";
    CreditClassEffective => "适用信用等级（取较低者）", "Credit class applied (the lower)";
    RandomDraw => "随机抽取值", "Random draw";
    RiskScore => "模型评分", "Model score";
    RiskCombined => "综合风险 / 布控阈值", "Risk / cutoff";
    RuleSetVersion => "规则集版本", "Rule set version";
    TopFeatures => "主要风险因素", "Top contributing features";
    NoModel => "未加载模型", "no model loaded";
    // Risk targeting page.
    RulesInForce => "现行规则集", "Rule set in force";
    RuleSetVersions => "规则集版本", "Rule set versions";
    NoRuleSetInForce => "当前没有生效的规则集", "No rule set is in force";
    Version => "版本", "Version";
    Author => "制定人", "Author";
    RuleCount => "规则数", "Rules";
    InForce => "现行", "In force";
    RuleId => "规则编号", "Rule id";
    RuleMeaning => "说明", "Meaning";
    Condition => "条件（CEL）", "Condition (CEL)";
    Weight => "风险权重", "Weight";
    HardStop => "硬性拦截", "Hard stop";
    ActiveAlerts => "有效风险预警", "Active alerts";
    NoAlerts => "当前没有有效预警", "No alert is active";
    AlertTitle => "预警", "Alert";
    Severity => "级别", "Severity";
    AlertScope => "范围", "Scope";
    ValidPeriod => "有效期", "Valid";
    Publisher => "发布方", "Publisher";
    HitRates => "查验命中率", "Hit rates";
    HitRatesHint => "按已记录的查验结果统计；随机抽中的命中率是无偏基线。", "From recorded inspection results; the random draw's rate is the unbiased baseline.";
    NoInspections => "尚无查验结果", "No inspection result yet";
    SelectedBy => "布控依据", "Selected by";
    Inspected => "已查验", "Inspected";
    FindingsCount => "查获", "Findings";
    HitRate => "命中率", "Hit rate";
    AllAlerts => "全部预警", "All alerts";
    AlertWithdrawn => "已撤回", "withdrawn";
    AlertNotInForce => "不在有效期内", "outside its validity";
    Withdraw => "撤回", "Withdraw";
    PublishAlert => "发布预警", "Publish an alert";
    AlertId => "预警编号（本单位内唯一）", "Alert id (unique in your party)";
    AlertHs => "商品编码前缀", "HS prefixes";
    AlertOrigins => "原产地", "Origins";
    AlertEnterprises => "企业（统一社会信用代码）", "Enterprises (USCC)";
    AlertText => "商品名称关键词", "Words in the goods description";
    ListHint => "多个以逗号分隔；至少填写一项范围", "Separate several with commas; give at least one scope";
    ValidFrom => "生效日期", "Valid from";
    ValidTo => "截止日期（含）", "Valid to (inclusive)";
    // Inspection result on the detail page.
    InspectionTitle => "查验结果", "Inspection result";
    Outcome => "结论", "Outcome";
    OutcomeNoFinding => "未发现问题", "No finding";
    OutcomeFinding => "发现问题", "Finding";
    FindingsField => "发现的问题（每行一条）", "Findings (one per line)";
    InspectionNotes => "备注", "Notes";
    RecordInspection => "记录查验结果", "Record the result";
    NotInspectedYet => "尚未记录查验结果", "No result recorded yet";
    PayableCny => "应缴税款（元）", "Payable (CNY)";
    RecordedAt => "记录时间（北京时间）", "Recorded at (UTC+8)";
    // Declaration detail.
    DeclarationTitle => "申报单", "Declaration";
    Zone => "区域", "Zone";
    Purpose => "用途", "Purpose";
    Currency => "币制", "Currency";
    ExchangeRate => "汇率（人民币/单位外币）", "Exchange rate (CNY per unit)";
    RateFromTable => "按申报日月度汇率表", "From the monthly rate table of the declaration date";
    ValueBasis => "成交方式", "Value basis";
    Freight => "运费", "Freight";
    Insurance => "保险费", "Insurance";
    DocumentHash => "单证哈希（SHA-256）", "Document hash (SHA-256)";
    Parties => "当事人", "Parties";
    PartyRole => "身份", "Role";
    Uscc => "统一社会信用代码", "Unified social credit code";
    Name => "名称", "Name";
    CreditClass => "信用等级", "Credit class";
    ZoneRegistered => "区内注册", "Registered in the zone";
    PartyNotShown => "您无权查看该企业的详细信息", "You may not read this enterprise's details";
    Yes => "是", "Yes";
    No => "否", "No";
    Items => "商品", "Items";
    Line => "项号", "Line";
    Hs => "商品编码", "HS code";
    Description => "商品名称", "Description";
    Quantity => "数量", "Quantity";
    Unit => "计量单位", "Unit";
    Value => "总价", "Value";
    ValueIn => "总价（{currency}）", "Value ({currency})";
    Origin => "原产国（地区）", "Origin";
    CustomsValueCny => "完税价格（元）", "Customs value (CNY)";
    DutyCny => "关税（元）", "Duty (CNY)";
    ConsumptionTaxCny => "消费税（元）", "Consumption tax (CNY)";
    VatCny => "增值税（元）", "VAT (CNY)";
    TaxesCny => "税款（元）", "Taxes (CNY)";
    Duty => "关税", "Duty";
    ConsumptionTax => "消费税", "Consumption tax";
    Vat => "增值税", "VAT";
    Trace => "计算过程（按记录原文）", "Calculation trace (as recorded)";
    Totals => "税款合计", "Totals";
    Waivers => "免征", "Waivers";
    NoWaivers => "无免征。", "No waiver.";
    History => "事件记录", "Event history";
    NoEvents => "没有事件记录。", "No events.";
    Seq => "序号", "Seq";
    Time => "时间（北京时间）", "Time (UTC+8)";
    EventKind => "事件", "Event";
    Hash => "哈希", "Hash";
    HashCheck => "哈希校验", "Hash check";
    LinkCheck => "链接校验", "Link check";
    CheckOk => "一致", "matches";
    CheckFailed => "不一致", "does not match";
    CheckUnknown => "无法校验", "cannot be checked";
    VerifyChain => "校验整条事件链", "Verify the whole event chain";
    // Chain verification.
    ChainIntact => "事件链完整：已重新计算 {events} 个事件的哈希，全部一致。", "The event chain is intact: the hashes of {events} events were recomputed and all match.";
    ChainBroken => "事件链在序号 {seq} 处断裂。", "The event chain is broken at seq {seq}.";
    HeadHash => "链头哈希", "Head hash";
    // Submission form.
    DeclarationHeader => "表头", "Declaration";
    ReferenceHint => "本企业自编的编号，1至64位字母、数字或 . _ -", "Your own reference: 1 to 64 letters, digits or . _ -";
    DateHint => "格式：年-月-日，如 2026-03-06", "YYYY-MM-DD, e.g. 2026-03-06";
    UsccHint => "18位统一社会信用代码", "The 18-character unified social credit code";
    ImporterHint => "与申报人相同时可不填", "Leave empty when it is the declarant";
    CurrencyHint => "三位字母代码，如 MOP、CNY", "Three-letter code such as MOP or CNY";
    ExchangeRateHint => "1单位外币折合人民币；不填则用月度汇率表", "CNY per unit of the currency; leave empty to use the monthly rate table";
    FobOnlyHint => "FOB 成交时填写", "For FOB values only";
    HsHint => "8位或10位数字", "8 or 10 digits";
    UnitHint => "如 C62（件）、KGM（千克）、LTR（升）", "Such as C62 (piece), KGM (kilogram), LTR (litre)";
    ValueHint => "该项商品的总价，按上面的币制", "The item's total value, in the currency above";
    OriginHint => "两位字母代码，如 PT", "Two-letter code such as PT";
    ItemsHint => "至少填写一项商品。留空的行不会提交；填写的每一项都须填写第 1 项中标有 * 的栏目。", "Fill in at least one item. Rows left empty are ignored; every item you fill in needs the fields marked * in item 1.";
    ItemN => "第 {n} 项商品", "Item {n}";
    Attributes => "计税属性", "Attributes for the taxes";
    AttributesHint => "部分税率需要：汽车的气缸容量、按升计税商品的容量、酒精度", "Some rates need them: engine size of cars, volume of goods taxed per litre, alcohol by volume";
    EngineCc => "气缸容量（毫升）", "Engine size (cc)";
    VolumeL => "每件容量（升）", "Volume each (litres)";
    Abv => "酒精度（%）", "Alcohol by volume (%)";
    Processing => "加工增值", "Processing in the zone";
    ProcessingHint => "二线出区的区内加工货物填写，用于30%加工增值规则（人民币）", "For goods made in the zone leaving over the second line: the figures of the 30 % value-added rule, in CNY";
    ImportedMaterials => "进口料件价值（元）", "Imported materials (CNY)";
    DomesticMaterials => "国内料件价值（元）", "Domestic materials (CNY)";
    SalePrice => "销售价格（元）", "Sale price (CNY)";
    AddItem => "增加一项商品", "Add item";
    SubmitDeclaration => "提交申报", "Submit the declaration";
    // Enterprises.
    EnterprisesCaption => "平台已登记的企业", "Enterprises known to the platform";
    NoEnterprises => "平台上还没有企业。", "The platform knows no enterprise yet.";
    OnLists => "所在名单", "On lists";
    // Zones.
    AsOf => "截至", "As of";
    EffectiveFrom => "生效日期", "Effective from";
    FirstLineModel => "一线监管模式", "First-line model";
    ModelExemptEquipment => "免税设备模式（横琴）", "Exempt equipment (Hengqin)";
    ModelZeroTariff => "零关税模式（海南）", "Zero tariff (Hainan)";
    FirstLineFallback => "一线未免税货物", "First-line goods not exempt";
    ValueAddedThreshold => "加工增值免关税标准", "Value-added threshold";
    WaiverThreshold => "免征起点（元）", "Waiver threshold (CNY)";
    ZoneLists => "本区名单", "Lists of this zone";
    List => "名单", "List";
    ListPurpose => "用途", "What it is for";
    Holds => "内容", "Holds";
    HoldsParties => "企业", "enterprises";
    HoldsGoods => "商品", "goods";
    EntriesInForce => "有效条目", "Entries in force";
    NoEntries => "该日期没有有效条目。", "No entry is in force on this date.";
    InForceOn => "有效日期", "In force on";
    Entry => "条目", "Entry";
    Note => "备注", "Note";
    BackToZones => "返回区域名单", "Back to the zone lists";
    // Monitoring centre.
    ChartFlows => "各流向每日申报单数", "Declarations by flow per day";
    ChartTreatments => "监管方式分布（申报单数）", "Treatments (declarations)";
    ChartTaxes => "每日应缴与免征税款（元）", "Taxes payable and waived per day (CNY)";
    DataTable => "数据表", "Data table";
    Day => "日期", "Day";
    Declarations => "申报单数", "Declarations";
    TaxesPayable => "应缴税款", "Payable";
    TaxesWaived => "免征税款", "Waived";
    Cny => "元", "CNY";
    DecisionTime => "从提交到作出决定的时间", "Time from submission to decision";
    Median => "中位数", "Median";
    Percentile90 => "第90百分位", "90th percentile";
    NoData => "无数据", "no data";
    NoDeclarationsInRange => "该期间没有申报单。", "No declaration in this range.";
    // My account.
    MyAccount => "我的账户", "My account";
    ManageAccounts => "管理账户", "Manage accounts";
    MyAccountLink => "我的账户：{user}", "My account: {user}";
    Party => "所属单位", "Party";
    Roles => "角色", "Roles";
    ApiTokens => "API 令牌", "API tokens";
    TokensCaption => "您的 API 令牌", "Your API tokens";
    NoTokens => "您还没有 API 令牌。", "You have no API token yet.";
    TokenName => "令牌名称", "Token name";
    TokenNameHint => "说明令牌的用途，1至100个字符", "What the token is for, 1 to 100 characters";
    TokenId => "令牌编号", "Token id";
    IssuedAt => "签发时间（北京时间）", "Issued at (UTC+8)";
    ExpiresAt => "到期时间（北京时间）", "Expires at (UTC+8)";
    State => "状态", "State";
    Active => "有效", "active";
    TokenExpired => "已过期", "expired";
    TokenRevoked => "已撤销", "revoked";
    RevokedBy => "撤销人", "Revoked by";
    RevokedAt => "撤销时间（北京时间）", "Revoked at (UTC+8)";
    RevokeToken => "撤销令牌“{name}”", "Revoke the token “{name}”";
    Actions => "操作", "Actions";
    IssueToken => "签发新令牌", "Issue a new token";
    ExpiresInDays => "有效天数", "Valid for (days)";
    ExpiresInDaysHint => "1至366天，默认90天", "1 to 366 days; 90 by default";
    NewTokenTitle => "您的新令牌", "Your new token";
    NewTokenOnce => "请立即复制此令牌并妥善保存；它不会再次显示。", "Copy it now; it will not be shown again.";
    NewTokenUse => "调用接口时在请求头中发送：", "Send it with each API request as the header:";
    // Accounts.
    AccountsCaption => "已登记的账户", "Registered accounts";
    NoAccounts => "没有符合条件的账户。", "No account matches.";
    AllPartiesHint => "不填则显示全部单位的账户", "Leave empty for the accounts of every party";
    PartyKindLabel => "单位类型", "Party kind";
    AccountActive => "启用", "Active";
    PasswordLogin => "密码登录", "Password login";
    DisplayName => "显示名称", "Display name";
    RecordedBy => "记录人", "Recorded by";
    NotShown => "无权查看", "not shown to you";
    CreateAccount => "新建账户", "Create an account";
    UserIdHint => "3至64位小写字母、数字或 . _ -，以字母或数字开头", "3 to 64 lowercase letters, digits or . _ -, starting with a letter or digit";
    PartyHint => "企业填统一社会信用代码；其他单位填 类型:名称，如 customs:hengqin", "An enterprise's USCC; other parties as kind:name, such as customs:hengqin";
    RolesHint => "须为所选单位类型的角色", "Roles of the chosen party kind";
    NewPasswordHint => "至少12个字符；不填则为只用令牌的系统账户", "At least 12 characters; leave empty for a system account that uses tokens only";
    DisplayNameHint => "最多200个字符；不要填写证件号码", "At most 200 characters; no ID number";
    DeactivateAccount => "停用 {user}（其会话和令牌立即失效）", "Deactivate {user} (ends their sessions and tokens at once)";
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn has_han(text: &str) -> bool {
        text.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c))
    }

    #[test]
    fn every_message_has_both_languages() {
        for (key, name) in Msg::ALL {
            let (zh, en) = key.texts();
            assert!(has_han(zh), "{name}: the Chinese text has no Chinese: {zh}");
            assert!(!en.trim().is_empty() && !has_han(en), "{name}: the English text: {en}");
            let placeholders = |text: &str| text.matches('{').count();
            assert_eq!(placeholders(zh), placeholders(en), "{name}: placeholders differ");
        }
    }

    #[test]
    fn no_message_is_defined_twice() {
        let mut by_text: BTreeMap<(&str, &str), &str> = BTreeMap::new();
        for (key, name) in Msg::ALL {
            if let Some(other) = by_text.insert(key.texts(), name) {
                panic!("{name} and {other} say the same in both languages");
            }
        }
    }

    #[test]
    fn every_message_is_used() {
        let sources = [
            include_str!("access.rs"),
            include_str!("assets.rs"),
            include_str!("context.rs"),
            include_str!("errors.rs"),
            include_str!("forms.rs"),
            include_str!("format.rs"),
            include_str!("glossary.rs"),
            include_str!("layout.rs"),
            include_str!("mod.rs"),
            include_str!("pages/account.rs"),
            include_str!("pages/accounts.rs"),
            include_str!("pages/chain.rs"),
            include_str!("pages/declarations.rs"),
            include_str!("pages/detail.rs"),
            include_str!("pages/enterprises.rs"),
            include_str!("pages/login.rs"),
            include_str!("pages/monitor.rs"),
            include_str!("pages/risk.rs"),
            include_str!("pages/alerts.rs"),
            include_str!("pages/submit.rs"),
            include_str!("pages/zones.rs"),
        ];
        let unused: Vec<&str> = Msg::ALL
            .iter()
            .filter(|(_, name)| {
                let needle = format!("Msg::{name}");
                !sources.iter().any(|source| {
                    source.match_indices(&needle).any(|(at, _)| {
                        !source[at + needle.len()..].starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_')
                    })
                })
            })
            .map(|(_, name)| *name)
            .collect();
        assert!(unused.is_empty(), "messages no page uses: {unused:?}");
    }

    #[test]
    fn placeholders_are_filled() {
        assert_eq!(tf(Lang::En, Msg::ItemN, &[("n", "2")]), "Item 2");
        assert_eq!(tf(Lang::Zh, Msg::ItemN, &[("n", "2")]), "第 2 项商品");
    }

    #[test]
    fn accept_language_prefers_english_only_when_asked() {
        assert_eq!(from_accept_language("en-US,en;q=0.9"), Some(Lang::En));
        assert_eq!(from_accept_language("zh-CN,zh;q=0.9,en;q=0.8"), Some(Lang::Zh));
        assert_eq!(from_accept_language("fr-FR, en;q=0.5, zh;q=0.7"), Some(Lang::Zh));
        assert_eq!(from_accept_language("pt-PT"), None);
        assert_eq!(from_accept_language("en;q=0, zh-Hant"), Some(Lang::Zh));
        assert_eq!(Lang::from_query(Some("a=1&lang=en")), Some(Lang::En));
        assert_eq!(Lang::from_query(Some("lang=fr")), None);
        assert_eq!(Lang::from_query(None), None);
    }
}
